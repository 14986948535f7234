"""Avarda's server-side callback, framework-free: authenticate, then parse the body.

Avarda POSTs ``{"purchaseId": "<id>"}`` with a static ``Authorization`` header that
the merchant agreed with Avarda (HTTP Basic, or a long-lived ``Bearer`` JWT). The URL
travels through the customer's browser, so the header only filters noise: the body
says *which* purchase to look at, never what became of it (ask GetPaymentStatus).
See ``docs/avarda-checkout2-protocol.md``, "The server-side callback".

Everything here works on plain values (a header string, a content type, body bytes),
so any web framework can use it. :func:`accept_purchase_completed` runs the checks in
the only safe order, each before the next (an asynchronous framework calls
:func:`check_before_reading`, reads the body itself, then :func:`parse_purchase_completed`):

1. authentication (:class:`CallbackAuthenticator`): before the body is read, so an
   anonymous caller cannot make the shop buffer or parse anything;
2. the content type: ``application/json`` (charset UTF-8 if given), else 415;
3. the size: at most ``max_bytes`` (declared or read), else 413;
4. strict JSON: UTF-8, one object, no duplicate keys, shallow, with a string
   ``purchaseId`` of 32 lowercase hex characters, else 400. Extra fields are ignored.

Each refusal is a :class:`CallbackRejected` carrying the HTTP status to answer, a
short error word and a message safe to send back. What to answer after that (200,
404, 503 with ``Retry-After``) depends on the confirm step, not on this module
(``orders/callback.py`` in this project).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any, Final

import jwt

from .protocol import PURCHASE_ID

#: The largest body accepted: Avarda's is about 50 bytes.
MAX_BODY: Final = 4096
#: Deepest ``{``/``[`` nesting accepted before parsing.
MAX_DEPTH: Final = 4
REALM: Final = "Avarda callback"
#: The ``WWW-Authenticate`` header of every 401, whatever was wrong.
WWW_AUTHENTICATE: Final = f'Basic realm="{REALM}", charset="UTF-8"'


class CallbackRejected(Exception):
    """The request is refused; answer ``status`` with ``error`` and ``message``.

    ``message`` is safe to send back: it never echoes the request.
    """

    status: int = 400
    error: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(CallbackRejected):
    """Missing or wrong credentials (the same for every failure): 401."""

    status = 401
    error = "unauthorized"

    def __init__(self, message: str = "Valid callback credentials are required.") -> None:
        super().__init__(message)


class UnsupportedMediaType(CallbackRejected):
    status = 415
    error = "unsupported_media_type"

    def __init__(self, message: str = "Send application/json.") -> None:
        super().__init__(message)


class PayloadTooLarge(CallbackRejected):
    status = 413
    error = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The body may be at most {limit} bytes.")


class BadCallback(CallbackRejected):
    """Not a valid callback body: 400."""


@dataclass(frozen=True)
class CallbackCredentials:
    """What the shop accepts in the callback's ``Authorization`` header.

    Basic needs ``username`` and ``password``; ``previous_password`` is accepted too
    during a rotation. ``jwt_secret`` accepts a ``Bearer`` JWT signed with HS256.
    With nothing set, every request is refused.
    """

    username: str = ""
    password: str = ""
    previous_password: str = ""
    jwt_secret: str = ""

    def __repr__(self) -> str:  # never show a secret
        return f"CallbackCredentials(username={self.username!r}, …)"


def _same(given: bytes, expected: str) -> bool:
    """Constant-time comparison of bytes (a str comparison would raise on non-ASCII)."""
    return hmac.compare_digest(given, expected.encode("utf-8", "surrogatepass"))


class CallbackAuthenticator:
    """Checks an ``Authorization`` header against :class:`CallbackCredentials`."""

    def __init__(self, credentials: CallbackCredentials) -> None:
        self._credentials = credentials

    def check(self, authorization: str | None) -> None:
        """Return if the header authenticates the caller, else raise :class:`Unauthorized`."""
        if not authorization:
            raise Unauthorized()
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and self._basic(value.strip()):
            return
        if scheme == "bearer" and self._bearer(value.strip()):
            return
        raise Unauthorized()

    def _basic(self, value: str) -> bool:
        creds = self._credentials
        if not creds.username or not creds.password:
            return False
        try:
            decoded = base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            return False
        user, colon, password = decoded.partition(b":")
        if not colon:
            return False
        user_ok = _same(user, creds.username)
        # Both passwords are compared every time, so timing does not reveal a rotation.
        current_ok = _same(password, creds.password)
        previous_ok = _same(password, creds.previous_password) if creds.previous_password else False
        return user_ok and (current_ok or previous_ok)

    def _bearer(self, token: str) -> bool:
        secret = self._credentials.jwt_secret
        if not secret or not token:
            return False
        try:
            jwt.decode(token, secret, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.PyJWTError:
            return False
        return True


def check_content_type(content_type: str | None) -> None:
    """``application/json``, with no charset or UTF-8; else :class:`UnsupportedMediaType`."""
    if not content_type:
        raise UnsupportedMediaType()
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "application/json":
        raise UnsupportedMediaType()
    charset = header.get_param("charset")
    if charset is not None and (
        not isinstance(charset, str) or charset.lower() not in ("utf-8", "utf8")
    ):
        raise UnsupportedMediaType()


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadCallback(f"duplicate key {key!r}"[:80])
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise BadCallback(f"{name} is not valid JSON")


def _nesting_depth(text: str) -> int:
    """Deepest ``{``/``[`` nesting outside strings, found before parsing anything."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_purchase_completed(body: bytes, max_bytes: int = MAX_BODY) -> str:
    """The purchase id from a callback body, or :class:`BadCallback` /
    :class:`PayloadTooLarge`."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(max_bytes)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadCallback("the body is not UTF-8") from None
    if _nesting_depth(text) > MAX_DEPTH:
        raise BadCallback("the JSON is nested too deeply")
    try:
        data = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except BadCallback:
        raise
    except (ValueError, RecursionError):
        raise BadCallback("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadCallback("the body must be a JSON object")
    purchase_id = data.get("purchaseId")
    if not isinstance(purchase_id, str) or not PURCHASE_ID.fullmatch(purchase_id):
        raise BadCallback("purchaseId must be a string of 32 lowercase hexadecimal characters")
    return purchase_id


def check_before_reading(
    *,
    authorization: str | None,
    content_type: str | None,
    content_length: int | None,
    authenticator: CallbackAuthenticator,
    max_bytes: int = MAX_BODY,
) -> None:
    """The checks that come before the body is read (authentication, content type,
    declared size); returns, or raises a :class:`CallbackRejected`.

    For a framework that reads bodies asynchronously: call this, then read at most
    ``max_bytes + 1`` bytes, then :func:`parse_purchase_completed`.
    """
    authenticator.check(authorization)
    check_content_type(content_type)
    if content_length is not None and content_length > max_bytes:
        raise PayloadTooLarge(max_bytes)


def accept_purchase_completed(
    *,
    authorization: str | None,
    content_type: str | None,
    content_length: int | None,
    read_body: Callable[[int], bytes],
    authenticator: CallbackAuthenticator,
    max_bytes: int = MAX_BODY,
) -> str:
    """Run every check in order; the purchase id, or a :class:`CallbackRejected`.

    ``read_body(limit)`` is called only after authentication and the header checks;
    it returns the body (reading at most ``limit`` bytes is enough: anything longer
    is refused) and may itself raise :class:`PayloadTooLarge` or :class:`BadCallback`
    (e.g. for a client that disconnected mid-body).
    """
    check_before_reading(
        authorization=authorization,
        content_type=content_type,
        content_length=content_length,
        authenticator=authenticator,
        max_bytes=max_bytes,
    )
    body = read_body(max_bytes + 1)
    return parse_purchase_completed(body, max_bytes)
