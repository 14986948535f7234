"""What can go wrong when the shop talks to Avarda, as exceptions a caller can act on.

Every failure of :class:`~.client.AvardaClient` is one of these, never a bare
``requests`` or ``pydantic`` error, and no message holds a credential or a whole
provider response. The question a caller must answer after a failure is "did Avarda
do it?"; the classes answer it:

=============================  =========================================================
exception                      did Avarda apply the request?
=============================  =========================================================
:class:`AvardaNotSent`         no: the request never reached Avarda (refused connection,
                               DNS, connect timeout). Retrying is always safe.
:class:`AvardaOutcomeUnknown`  unknown: the request was sent but no usable answer came
                               back (read timeout, dropped connection, HTTP 5xx, 408,
                               429). :class:`AvardaTimeout` is the timeout case.
:class:`AvardaAuthError`       no: HTTP 401, the site code or password is wrong.
:class:`AvardaRefused`         no: Avarda understood and refused (HTTP 4xx with its error
                               body); :class:`AvardaCommerceRefused` carries Avarda's
                               ``ErrorCode`` and ``ErrorMessage`` for a back office.
:class:`AvardaProtocolError`   yes, probably: a 2xx whose body does not have the
                               documented shape. For a call that returns nothing this
                               cannot happen: any 2xx is success.
=============================  =========================================================

:class:`AvardaUnavailable` is the base of the first two (nothing to act on, try again
later), kept for callers that only need "Avarda did not answer".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class AvardaError(Exception):
    """Base class: Avarda did not do what was asked, or did not say so usably."""

    #: True when Avarda may have applied the request although this was raised.
    outcome_unknown: bool = False


class AvardaUnavailable(AvardaError):
    """No usable answer from Avarda; see the subclasses for whether it was sent."""

    outcome_unknown = True


class AvardaNotSent(AvardaUnavailable):
    """The request never reached Avarda: nothing happened there, a retry is safe."""

    outcome_unknown = False


class AvardaOutcomeUnknown(AvardaUnavailable):
    """The request was sent, but the answer is missing or a server error.

    Avarda may or may not have applied it. For a Commerce call, retry with the *same*
    ``TranId`` (Avarda applies one ``TranId`` once) or look at the purchase first; for
    a read (GetPaymentStatus) simply ask again.
    """


class AvardaTimeout(AvardaOutcomeUnknown):
    """Avarda accepted the connection but did not answer within the timeout."""


class AvardaAuthError(AvardaError):
    """Avarda refused the site code and password (HTTP 401). A configuration error."""


class AvardaRefused(AvardaError):
    """Avarda understood the request and refused it (HTTP 4xx other than 401).

    ``errors`` are Avarda's messages (shortened, printable), ``code`` its error code
    when it gave one (an int for checkout errors' ``CheckOutErrorCode``, the string
    ``ErrorCode`` for Commerce errors), ``status`` the HTTP status.
    """

    def __init__(
        self,
        message: str,
        code: int | str | None = None,
        errors: Sequence[str] = (),
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.errors = list(errors)
        self.status = status

    @property
    def plain_message(self) -> str:
        """Avarda's own words, for a person: its messages, or the HTTP status."""
        return "; ".join(self.errors) or f"Avarda refused the request (HTTP {self.status})."


class AvardaCheckoutRefused(AvardaRefused):
    """A checkout call refused: ``{"CheckOutErrorCode": n, "Errors": [...]}``.

    Avarda does not publish its checkout error codes, so a caller should not branch on
    ``code``; UpdateItems refused means "start a new purchase", whatever the code.
    """


@dataclass(frozen=True)
class CommerceErrorDetail:
    """One entry of a Commerce error body: ``{"ErrorCode": "14100", "ErrorMessage": …}``."""

    code: str
    message: str


class AvardaCommerceRefused(AvardaRefused):
    """A Commerce call refused (HTTP 400 with ``[{"ErrorCode", "ErrorMessage"}]``).

    Nothing was applied. ``details`` holds every entry; ``code`` and ``message`` the
    first, e.g. ``"14100"`` and ``"Return denied - insufficient Purchase Balance"``,
    which a back office can show as they are.
    """

    def __init__(
        self, message: str, details: Sequence[CommerceErrorDetail] = (), status: int = 400
    ) -> None:
        first = details[0] if details else None
        super().__init__(
            message,
            code=first.code if first else None,
            errors=[d.message for d in details if d.message],
            status=status,
        )
        self.details = tuple(details)

    @property
    def message(self) -> str:
        """Avarda's first error message ("" when it gave none)."""
        return self.details[0].message if self.details else ""


class AvardaProtocolError(AvardaError):
    """Avarda's answer did not have the documented shape (and was not a refusal)."""

    outcome_unknown = True
