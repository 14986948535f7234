"""A small typed client for Avarda Checkout 2.0's server API.

It knows the protocol (paths, Basic auth with site code and password, JSON shapes,
states, errors) and nothing about the shop's orders or Flask, so it can be copied
into any project. Every call has a timeout; every failure is one of the exceptions
below, never a bare ``requests`` error, and no message contains a credential or a
whole provider response.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

from shop.avarda.protocol import PURCHASE_ID, Item, PaymentStatus, dumps_exact


class AvardaError(Exception):
    """Base class: Avarda did not do what was asked."""


class AvardaUnavailable(AvardaError):
    """Avarda could not be reached, timed out, or answered with a server error.

    The request may or may not have had an effect on Avarda's side.
    """


class AvardaAuthError(AvardaError):
    """Avarda refused the site code and password (HTTP 401)."""


class AvardaRefused(AvardaError):
    """Avarda understood the request and refused it (a checkout error, HTTP 4xx)."""

    def __init__(self, message: str, code: int | None = None, errors: Sequence[str] = ()):
        super().__init__(message)
        self.code = code
        self.errors = list(errors)


class AvardaProtocolError(AvardaError):
    """Avarda's answer did not have the documented shape."""


class AvardaClient:
    """``AvardaClient(base_url, site_code, site_password)``; ``base_url`` ends in
    ``/CheckOut2`` (stage, production or the local sandbox).

    One ``requests.Session`` per thread keeps connections alive without sharing a
    session between threads (``requests`` does not promise that is safe).
    """

    def __init__(
        self,
        base_url: str,
        site_code: str,
        site_password: str,
        timeout: float = 10.0,
        status_timeout: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = (site_code, site_password)
        self.timeout = _seconds("timeout", timeout)
        self.status_timeout = _seconds("status_timeout", status_timeout)
        self._local = threading.local()

    def __repr__(self) -> str:  # never show the password
        return f"<AvardaClient {self.base_url} site={self._auth[0]!r}>"

    # -- calls ------------------------------------------------------------------------
    def initialize_payment(
        self,
        price: Decimal,
        items: Sequence[Item],
        order_reference: str,
        **optional: Any,
    ) -> str:
        """Start a purchase; returns its id. ``optional`` holds PascalCase fields such
        as ``UserLanguageCode`` or ``Mail``."""
        body = {"Price": price, "Items": [i.to_wire() for i in items]}
        body["OrderReference"] = order_reference
        body.update(optional)
        result = self._call("InitializePayment", body)
        if not isinstance(result, str) or not PURCHASE_ID.match(result):
            raise AvardaProtocolError("InitializePayment did not return a purchase id")
        return result

    def update_items(self, purchase_id: str, price: Decimal, items: Sequence[Item]) -> None:
        """Replace the cart of a purchase. :class:`AvardaRefused` once the purchase
        is waiting for an external step or finished: start a new purchase then."""
        body = {"PurchaseId": purchase_id, "Price": price, "Items": [i.to_wire() for i in items]}
        self._call("UpdateItems", body)

    def get_payment_status(self, purchase_id: str, timeout: float | None = None) -> PaymentStatus:
        """The purchase's state, method, price and customer, straight from Avarda."""
        data = self._call(
            "GetPaymentStatus",
            {"PurchaseId": purchase_id},
            self.status_timeout if timeout is None else timeout,
        )
        if not isinstance(data, dict):
            raise AvardaProtocolError("GetPaymentStatus did not return an object")
        try:
            status = PaymentStatus.from_wire(data)
        except ValueError as exc:
            raise AvardaProtocolError(str(exc)) from None
        if status.purchase_id != purchase_id:
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

        ``start_date`` is sent as ``YYYY-MM-DD HH:MM:SS`` in the time zone it carries
        (use UTC).
        """
        body: dict[str, Any] = {"Offset": offset, "PageSize": page_size}
        if after_purchase_id:
            body["PurchaseId"] = after_purchase_id
        elif start_date:
            body["StartDate"] = start_date.strftime("%Y-%m-%d %H:%M:%S")
        else:
            raise ValueError("give after_purchase_id or start_date")
        data = self._call("GetPaymentStatusQueue", body, self.status_timeout)
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise AvardaProtocolError("GetPaymentStatusQueue did not return a list of ids")
        return data

    def cancel_payment(self, purchase_id: str, reason: str) -> None:
        self._call("Commerce/CancelPayment", {"ExternalId": purchase_id, "Reason": reason})

    # -- transport ----------------------------------------------------------------------
    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self._auth
            session.headers.update(
                {"Content-Type": "application/json", "Accept": "application/json"}
            )
            self._local.session = session
        return session

    def _call(self, method: str, body: dict[str, Any], timeout: float | None = None) -> Any:
        url = f"{self.base_url}/CheckOut2Api/{method}"
        timeout = self.timeout if timeout is None else _seconds("timeout", timeout)
        try:
            response = self._session.post(
                url,
                data=dumps_exact(body).encode("utf-8"),
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise AvardaUnavailable(f"{method}: Avarda did not answer in time") from None
        except requests.RequestException as exc:
            raise AvardaUnavailable(
                f"{method}: cannot reach Avarda ({type(exc).__name__})"
            ) from None

        status = response.status_code
        if status == 401:
            raise AvardaAuthError(f"{method}: Avarda refused the site code or password")
        if status >= 500 or status in (408, 429):
            raise AvardaUnavailable(f"{method}: Avarda answered HTTP {status}")
        if 400 <= status < 500:
            raise _refusal(method, status, response.text)
        if status != 200:
            raise AvardaProtocolError(f"{method}: unexpected HTTP {status}")
        if not response.content:
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise AvardaProtocolError(f"{method}: the answer is not JSON") from None


def _seconds(name: str, value: float) -> float:
    """A usable timeout, or ValueError: ``requests`` refuses 0 and negative values only
    when a call is made, and nan or inf would wait for ever or overflow."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number of seconds above 0, not {value!r}")
    return float(value)


def _refusal(method: str, status: int, text: str) -> AvardaRefused:
    """Turn Avarda's error body (checkout or Commerce shape) into :class:`AvardaRefused`."""
    code: int | None = None
    errors: list[str] = []
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        raw = data.get("CheckOutErrorCode")
        code = raw if isinstance(raw, int) else None
        errors = [str(e)[:200] for e in data.get("Errors") or [] if isinstance(e, str)]
    elif isinstance(data, list):
        for entry in data:
            if isinstance(entry, dict):
                if code is None and str(entry.get("ErrorCode", "")).isdigit():
                    code = int(entry["ErrorCode"])
                if isinstance(entry.get("ErrorMessage"), str):
                    errors.append(entry["ErrorMessage"][:200])
    summary = "; ".join(errors[:3]) or "no details"
    return AvardaRefused(f"{method}: Avarda refused (HTTP {status}): {summary}", code, errors)
