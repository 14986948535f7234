"""Avarda Checkout 2.0 for Python: a typed client, the wire formats, the callback's checks.

Copy this folder into any project (Python 3.11+, ``requests``, ``pydantic`` 2,
``PyJWT``) and import it under any name: it uses relative imports only and knows
nothing of Flask or of the shop's orders (import-linter checks both here). The wire
contract it follows, rule by rule, is ``docs/avarda-checkout2-protocol.md``.

- :mod:`.client`: :class:`AvardaClient`, one method per Avarda call.
- :mod:`.wire`: the request and answer bodies as pydantic models.
- :mod:`.protocol`: states, payment methods, languages, money helpers.
- :mod:`.errors`: what can go wrong, and whether Avarda may have applied the request.
- :mod:`.callback`: authentication and strict parsing of the server-side callback.
"""

from .callback import (
    MAX_BODY,
    WWW_AUTHENTICATE,
    CallbackAuthenticator,
    CallbackCredentials,
    CallbackRejected,
    PayloadTooLarge,
    accept_purchase_completed,
    check_before_reading,
    parse_purchase_completed,
)
from .client import AvardaClient
from .errors import (
    AvardaAuthError,
    AvardaCheckoutRefused,
    AvardaCommerceRefused,
    AvardaError,
    AvardaNotSent,
    AvardaOutcomeUnknown,
    AvardaProtocolError,
    AvardaRefused,
    AvardaTimeout,
    AvardaUnavailable,
    CommerceErrorDetail,
)
from .protocol import (
    LANGUAGES,
    PURCHASE_ID,
    Language,
    PaymentMethod,
    PurchaseState,
    Unrecognized,
    decimal_to_minor,
    minor_to_decimal,
    payment_method_label,
)
from .wire import (
    Address,
    Customer,
    InitializePayment,
    Item,
    PaymentStatus,
    new_tran_id,
)

__all__ = [
    "LANGUAGES",
    "MAX_BODY",
    "PURCHASE_ID",
    "WWW_AUTHENTICATE",
    "Address",
    "AvardaAuthError",
    "AvardaCheckoutRefused",
    "AvardaClient",
    "AvardaCommerceRefused",
    "AvardaError",
    "AvardaNotSent",
    "AvardaOutcomeUnknown",
    "AvardaProtocolError",
    "AvardaRefused",
    "AvardaTimeout",
    "AvardaUnavailable",
    "CallbackAuthenticator",
    "CallbackCredentials",
    "CallbackRejected",
    "CommerceErrorDetail",
    "Customer",
    "InitializePayment",
    "Item",
    "Language",
    "PayloadTooLarge",
    "PaymentMethod",
    "PaymentStatus",
    "PurchaseState",
    "Unrecognized",
    "accept_purchase_completed",
    "check_before_reading",
    "decimal_to_minor",
    "minor_to_decimal",
    "new_tran_id",
    "parse_purchase_completed",
    "payment_method_label",
]
