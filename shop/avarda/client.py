"""A small typed client for Avarda Checkout 2.0's server API.

It knows the protocol (paths, Basic auth with site code and password, the JSON bodies
of :mod:`.wire`, states, errors) and nothing about the shop's orders or any web
framework, so the whole ``avarda`` folder can be copied into another project (it
needs Python 3.11+, ``requests`` and ``pydantic`` 2). The wire contract it follows is
``docs/avarda-checkout2-protocol.md``.

Every call has a finite timeout; every failure is one of :mod:`.errors`, which say
whether Avarda may have applied the request; no message holds a credential or a whole
provider response, and nothing is logged.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from pydantic import ValidationError
from urllib3.exceptions import MaxRetryError, NewConnectionError

from .errors import (
    AvardaAuthError,
    AvardaCheckoutRefused,
    AvardaCommerceRefused,
    AvardaNotSent,
    AvardaOutcomeUnknown,
    AvardaProtocolError,
    AvardaRefused,
    AvardaTimeout,
    CommerceErrorDetail,
)
from .protocol import PURCHASE_ID, raw_text
from .wire import (
    CancelPayment,
    CheckoutErrorBody,
    CommerceErrorEntry,
    CommerceRequest,
    GetPaymentStatusQueueRequest,
    GetPaymentStatusRequest,
    InitializePayment,
    Item,
    PaymentStatus,
    PurchaseOrder,
    Refund,
    RefundRemaining,
    ReturnOrder,
    UpdateItems,
    WireRequest,
    loads_strict,
)

#: At most this many of Avarda's error messages, each at most MESSAGE_LIMIT long, are
#: kept on an exception: enough for a person, never a whole response.
MESSAGE_COUNT = 5
MESSAGE_LIMIT = 200


class AvardaClient:
    """``AvardaClient(base_url, site_code, site_password)``.

    ``base_url`` ends in ``/CheckOut2``: ``https://stage.avarda.org/CheckOut2``,
    ``https://online.avarda.org/CheckOut2`` or the local sandbox. ``timeout`` bounds
    every call, ``status_timeout`` the reads (GetPaymentStatus and its queue), which
    run while a customer or Avarda's callback is waiting.

    Thread-safe: one ``requests.Session`` per thread keeps connections alive without
    sharing a session between threads (``requests`` does not promise that is safe).
    """

    def __init__(
        self,
        base_url: str,
        site_code: str,
        site_password: str,
        timeout: float = 10.0,
        status_timeout: float = 5.0,
        max_concurrent_calls: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = (site_code, site_password)
        self.timeout = _seconds("timeout", timeout)
        self.status_timeout = _seconds("status_timeout", status_timeout)
        self._local = threading.local()
        # At most this many calls at a time (a hanging Avarda then holds only these
        # threads); a call waits for a free slot at most its own timeout, or not at all
        # on a client from hurried().
        self._slots = (
            threading.BoundedSemaphore(max_concurrent_calls) if max_concurrent_calls else None
        )
        self._slot_wait: float | None = None

    def hurried(self, status_timeout: float) -> AvardaClient:
        """This client for a caller that must answer fast (the server-side callback, which
        Avarda retries): a shorter status timeout, and no waiting for a free slot (the
        call fails at once with :class:`AvardaNotSent`). It shares this client's slots."""
        other = copy.copy(self)
        other.status_timeout = _seconds("status_timeout", status_timeout)
        other._slot_wait = 0.0
        return other

    def __repr__(self) -> str:  # never show the password
        return f"<AvardaClient {self.base_url} site={self._auth[0]!r}>"

    # -- checkout -----------------------------------------------------------------------
    def initialize_payment(self, request: InitializePayment) -> str:
        """Start a purchase; returns its id (32 lowercase hex characters).

        Not idempotent: a retry after :class:`AvardaOutcomeUnknown` may create a second
        purchase. That is harmless (an unused purchase times out at Avarda) as long as
        the shop only ever shows the form of the id it stored.
        """
        answer = self._call("InitializePayment", request, self.timeout)
        if isinstance(answer, bytes):  # not JSON: accept a bare id, nothing else
            answer = answer.decode("ascii", "replace").strip()
        if not isinstance(answer, str) or not PURCHASE_ID.match(answer):
            raise AvardaProtocolError("InitializePayment did not return a purchase id")
        return answer

    def update_items(
        self,
        purchase_id: str,
        *,
        price: Decimal,
        items: Sequence[Item],
        order_reference: str,
    ) -> None:
        """Replace the cart of a purchase still in New or BeingProcessed.

        :class:`AvardaCheckoutRefused` once the purchase is at an external step
        (Waiting*) or finished: start a new purchase then. Safe to repeat.
        """
        body = UpdateItems(
            purchase_id=purchase_id, price=price, items=list(items), order_reference=order_reference
        )
        self._call("UpdateItems", body, self.timeout, returns_nothing=True)

    def get_payment_status(self, purchase_id: str, timeout: float | None = None) -> PaymentStatus:
        """The purchase's state, method, price, customer and addresses, from Avarda.

        A read: always safe to repeat. A state or method this code does not know comes
        back as :class:`~.protocol.Unrecognized`, never as an error.
        """
        answer = self._call(
            "GetPaymentStatus",
            GetPaymentStatusRequest(purchase_id=purchase_id),
            self.status_timeout if timeout is None else _seconds("timeout", timeout),
        )
        if not isinstance(answer, dict):
            raise AvardaProtocolError("GetPaymentStatus did not return an object")
        try:
            status = PaymentStatus.from_wire(answer)
        except ValidationError as exc:
            raise AvardaProtocolError(f"GetPaymentStatus: {_problems(exc)}") from None
        if status.purchase_id is not None and status.purchase_id.lower() != purchase_id:
            raise AvardaProtocolError("GetPaymentStatus answered for another purchase")
        return status

    def get_payment_status_queue(
        self,
        *,
        after_purchase_id: str | None = None,
        start_date: datetime | None = None,
        offset: int = 0,
        page_size: int = 100,
    ) -> list[str]:
        """Ids of purchases completed after a purchase or a time, oldest first.

        A hint for the sweep, never a result: each id still needs GetPaymentStatus.
        ``start_date`` is sent as ``YYYY-MM-DD HH:MM:SS`` in the zone it carries (use UTC).
        """
        request = GetPaymentStatusQueueRequest(
            purchase_id=after_purchase_id,
            start_date=None if start_date is None else _format_date(start_date),
            offset=offset,
            page_size=page_size,
        )
        answer = self._call("GetPaymentStatusQueue", request, self.status_timeout)
        if not isinstance(answer, list) or not all(isinstance(x, str) for x in answer):
            raise AvardaProtocolError("GetPaymentStatusQueue did not return a list of ids")
        return answer

    # -- Commerce -----------------------------------------------------------------------
    # All return None on any 2xx. AvardaCommerceRefused: nothing was applied, show its
    # ``message``. AvardaNotSent: nothing was applied. AvardaOutcomeUnknown (a timeout,
    # a 5xx): it may have been applied; repeat with the SAME tran_id, never a new one.

    def purchase_order(
        self,
        purchase_id: str,
        *,
        order_reference: str,
        items: Sequence[Item],
        tran_id: str | None = None,
        tracking_code: str | None = None,
        pos_id: str | None = None,
    ) -> None:
        """Deliver ``items`` (capture): Avarda invoices or charges them and pays the
        merchant for them. Part deliveries are several calls; rebate rows may be
        negative while the total is positive.

        Retry safety: with a ``tran_id`` (see :func:`~.wire.new_tran_id`), stored before
        the call and sent again unchanged, a retry is applied at most once. Without
        one, a retry after a timeout may deliver twice.
        """
        self._commerce(
            PurchaseOrder(
                external_id=purchase_id,
                order_reference=order_reference,
                items=list(items),
                tran_id=tran_id,
                tracking_code=tracking_code,
                pos_id=pos_id,
            )
        )

    def return_order(
        self,
        purchase_id: str,
        *,
        order_reference: str,
        items: Sequence[Item],
        tran_id: str | None = None,
        tracking_code: str | None = None,
        pos_id: str | None = None,
    ) -> None:
        """Return delivered ``items`` (credited to the customer as negative rows).

        Retry safety as :meth:`purchase_order`: same ``tran_id``, applied once.
        """
        self._commerce(
            ReturnOrder(
                external_id=purchase_id,
                order_reference=order_reference,
                items=list(items),
                tran_id=tran_id,
                tracking_code=tracking_code,
                pos_id=pos_id,
            )
        )

    def refund(
        self,
        purchase_id: str,
        *,
        order_reference: str,
        amount: Decimal,
        tran_id: str | None = None,
    ) -> None:
        """Refund ``amount`` (> 0) to the customer.

        Retry safety as :meth:`purchase_order`: same ``tran_id``, applied once; without
        one, a retry after a timeout may refund twice.
        """
        self._commerce(
            Refund(
                external_id=purchase_id,
                order_reference=order_reference,
                amount=amount,
                tran_id=tran_id,
            )
        )

    def refund_remaining(
        self, purchase_id: str, *, order_reference: str, tran_id: str | None = None
    ) -> None:
        """Release whatever was authorised and not delivered (e.g. after a part
        delivery, when the rest will never ship). Retry with the same ``tran_id``."""
        self._commerce(
            RefundRemaining(
                external_id=purchase_id, order_reference=order_reference, tran_id=tran_id
            )
        )

    def cancel_payment(self, purchase_id: str, *, reason: str) -> None:
        """Cancel the purchase: the reservation is released, a card or bank payment
        refunded; its State becomes Cancelled (8).

        Refused (:class:`AvardaCommerceRefused`) once anything was delivered, returned
        or refunded. It has no ``TranId``: after :class:`AvardaOutcomeUnknown`, ask
        :meth:`get_payment_status` (Cancelled?) before calling it again.
        """
        self._commerce(CancelPayment(external_id=purchase_id, reason=reason))

    # -- transport ----------------------------------------------------------------------
    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # The environment's proxy and CA settings (HTTPS_PROXY, NO_PROXY,
            # REQUESTS_CA_BUNDLE) are read once, for Avarda's host, rather than on every
            # call: requests walks the whole environment per request otherwise.
            settings = session.merge_environment_settings(self.base_url, {}, None, None, None)
            session.trust_env = False
            session.proxies = settings["proxies"]
            session.verify = settings["verify"]
            session.cert = settings["cert"]
            session.auth = self._auth
            session.headers.update(
                {"Content-Type": "application/json", "Accept": "application/json"}
            )
            self._local.session = session
        return session

    def _commerce(self, request: CommerceRequest) -> None:
        method = "Commerce/" + type(request).__name__
        self._call(method, request, self.timeout, returns_nothing=True)

    def _call(
        self,
        method: str,
        request: WireRequest,
        timeout: float,
        *,
        returns_nothing: bool = False,
    ) -> Any:
        """POST ``request``; the decoded JSON answer (``bytes`` when it is not JSON,
        None when empty), or one of :mod:`.errors`."""
        if self._slots is None:
            return self._post(method, request, timeout, returns_nothing)
        wait = timeout if self._slot_wait is None else self._slot_wait
        if not self._slots.acquire(timeout=wait):
            raise AvardaNotSent(f"{method}: too many Avarda calls in progress; try again")
        try:
            return self._post(method, request, timeout, returns_nothing)
        finally:
            self._slots.release()

    def _post(
        self, method: str, request: WireRequest, timeout: float, returns_nothing: bool
    ) -> Any:
        url = f"{self.base_url}/CheckOut2Api/{method}"
        try:
            response = self._session.post(
                url,
                data=request.to_json().encode("utf-8"),
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.ConnectTimeout:
            raise AvardaNotSent(f"{method}: Avarda did not accept a connection in time") from None
        except requests.Timeout:
            raise AvardaTimeout(
                f"{method}: Avarda did not answer in time; the outcome is unknown"
            ) from None
        except requests.RequestException as exc:
            if _never_sent(exc):
                raise AvardaNotSent(
                    f"{method}: cannot reach Avarda ({type(exc).__name__})"
                ) from None
            raise AvardaOutcomeUnknown(
                f"{method}: the connection to Avarda failed ({type(exc).__name__});"
                " the outcome is unknown"
            ) from None

        status = response.status_code
        if 200 <= status < 300:
            if returns_nothing or not response.content.strip():
                return None
            try:
                return loads_strict(response.content)
            except (ValueError, RecursionError):
                return response.content
        if status == 401:
            raise AvardaAuthError(f"{method}: Avarda refused the site code or password")
        if status >= 500 or status in (408, 429):
            raise AvardaOutcomeUnknown(
                f"{method}: Avarda answered HTTP {status}; the outcome is unknown"
            )
        if 400 <= status < 500:
            raise _refusal(method, status, response.content)
        raise AvardaProtocolError(f"{method}: unexpected HTTP {status}")


def _seconds(name: str, value: float) -> float:
    """A usable timeout, or ValueError: ``requests`` refuses 0 and negative values only
    when a call is made, and nan or inf would wait for ever or overflow."""
    if not (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        raise ValueError(f"{name} must be a finite number of seconds above 0, not {value!r}")
    return float(value)


def _format_date(moment: datetime) -> str:
    return GetPaymentStatusQueueRequest.format_date(moment)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the failure happened before a connection existed (refused, DNS, TLS
    handshake): then Avarda cannot have seen the request."""
    if isinstance(exc, requests.exceptions.SSLError):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def _problems(exc: ValidationError) -> str:
    """Which fields were wrong, without echoing their values."""
    fields = sorted({".".join(str(p) for p in error["loc"]) or "body" for error in exc.errors()})
    return "malformed " + ", ".join(fields[:5])


def _short(text: str | None) -> str:
    if not text:
        return ""
    text = raw_text(text) if not text.isprintable() else text
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _refusal(method: str, status: int, content: bytes) -> AvardaRefused:
    """Avarda's error body as an exception (Commerce or checkout kind, by the method
    called, whatever the body looks like); never raises."""
    try:
        data = loads_strict(content) if content.strip() else None
    except (ValueError, RecursionError):
        data = None
    if method.startswith("Commerce/"):
        details: list[CommerceErrorDetail] = []
        for entry in data[:MESSAGE_COUNT] if isinstance(data, list) else []:
            try:
                parsed = CommerceErrorEntry.model_validate(entry)
            except ValidationError:
                continue
            if parsed.error_code is None and parsed.error_message is None:
                continue
            details.append(
                CommerceErrorDetail(_short(parsed.error_code), _short(parsed.error_message))
            )
        summary = "; ".join(f"{d.message} ({d.code})" if d.code else d.message for d in details)
        return AvardaCommerceRefused(
            f"{method}: Avarda refused (HTTP {status}): {summary or 'no details'}",
            details,
            status,
        )
    code: int | None = None
    errors: list[str] = []
    if isinstance(data, dict):
        try:
            body = CheckoutErrorBody.model_validate(data)
        except ValidationError:
            pass
        else:
            code = body.check_out_error_code
            errors = [_short(e) for e in body.errors[:MESSAGE_COUNT] if e]
    summary = "; ".join(errors) or "no details"
    return AvardaCheckoutRefused(
        f"{method}: Avarda refused (HTTP {status}): {summary}", code, errors, status
    )
