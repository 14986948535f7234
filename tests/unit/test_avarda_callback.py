"""The callback's checks on plain values, without Flask (``shop.avarda.callback``)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from shop.avarda.callback import (
    MAX_BODY,
    BadCallback,
    CallbackAuthenticator,
    CallbackCredentials,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    accept_purchase_completed,
    check_content_type,
    parse_purchase_completed,
)

PID = "489ea341e23941089e6d0378c708512a"
SECRET = "a-jwt-secret-long-enough-for-hs256-and-hs512-" + "s" * 24
CREDS = CallbackCredentials(
    username="avarda", password="current-pw", previous_password="old-pw", jwt_secret=SECRET
)


def basic(user: str | bytes, password: str | bytes) -> str:
    raw = (user if isinstance(user, bytes) else user.encode()) + b":"
    raw += password if isinstance(password, bytes) else password.encode()
    return "Basic " + base64.b64encode(raw).decode()


def bearer(secret: str = SECRET, **claims: object) -> str:
    return "Bearer " + jwt.encode({"sub": "avarda", **claims}, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "header",
    [
        basic("avarda", "current-pw"),
        basic("avarda", "old-pw"),
        "basic " + basic("avarda", "current-pw").split(" ")[1],
        bearer(),
        bearer(exp=int(time.time()) + 3600 * 24 * 365 * 5),
    ],
)
def test_accepted_credentials(header):
    CallbackAuthenticator(CREDS).check(header)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        basic("avarda", "wrong"),
        basic("someone", "current-pw"),
        basic("avarda", ""),
        basic("avarda", "current-pw\x00"),
        basic("åvarda".encode("latin-1"), "current-pw"),
        basic("avarda", "çurrent-pw"),
        "Digest " + basic("avarda", "current-pw").split(" ")[1],
        bearer("another-secret-long-enough-for-hs256-" + "x" * 32),
        bearer(exp=int(time.time()) - 10),
        "Bearer " + jwt.encode({"sub": "x"}, SECRET, algorithm="HS512"),
        "Bearer not.a.jwt",
        "Bearer ",
        basic("avarda", "current-pw") + "x",
    ],
)
def test_refused_credentials_all_look_the_same(header):
    with pytest.raises(Unauthorized) as info:
        CallbackAuthenticator(CREDS).check(header)
    assert info.value.status == 401 and info.value.error == "unauthorized"
    assert info.value.message == "Valid callback credentials are required."


def test_nothing_configured_refuses_everything():
    nobody = CallbackAuthenticator(CallbackCredentials())
    for header in (basic("", ""), basic("avarda", "current-pw"), bearer()):
        with pytest.raises(Unauthorized):
            nobody.check(header)


def test_without_a_previous_password_an_empty_one_is_not_accepted():
    creds = CallbackCredentials(username="avarda", password="pw")
    with pytest.raises(Unauthorized):
        CallbackAuthenticator(creds).check(basic("avarda", ""))


def test_without_a_jwt_secret_bearer_is_refused():
    creds = CallbackCredentials(username="avarda", password="pw")
    with pytest.raises(Unauthorized):
        CallbackAuthenticator(creds).check(bearer())


def test_credentials_repr_hides_secrets():
    assert "current-pw" not in repr(CREDS) and SECRET not in repr(CREDS)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF8"],
)
def test_json_content_types(content_type):
    check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/jsonx",
        "multipart/form-data; boundary=x",
    ],
)
def test_other_content_types_are_415(content_type):
    with pytest.raises(UnsupportedMediaType) as info:
        check_content_type(content_type)
    assert info.value.status == 415


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"purchaseId": PID}).encode(),
        json.dumps({"purchaseId": PID, "extra": {"ignored": [1]}}).encode(),
        b'  {"purchaseId":"' + PID.encode() + b'"}\n',
    ],
)
def test_a_valid_body(body):
    assert parse_purchase_completed(body) == PID


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b'"' + PID.encode() + b'"', "object"),
        (b"[]", "object"),
        (b'{"purchaseId": NaN}', "NaN"),
        (('{"purchaseId": "' + PID + '", "purchaseId": "' + "0" * 32 + '"}').encode(), "duplicate"),
        (b'{"purchaseId": "' + PID.upper().encode() + b'"}', "32 lowercase"),
        (b'{"purchaseId": 12}', "32 lowercase"),
        (b'{"PurchaseId": "' + PID.encode() + b'"}', "32 lowercase"),
        (b'{"a": [[[[[1]]]]], "purchaseId": "' + PID.encode() + b'"}', "deeply"),
        (b"[" * 100000, "deeply"),
    ],
)
def test_invalid_bodies_are_400_with_a_safe_message(body, message):
    with pytest.raises(BadCallback, match=message) as info:
        parse_purchase_completed(body, max_bytes=200_000)
    assert info.value.status == 400 and PID not in info.value.message


def test_a_body_over_the_limit_is_413():
    body = json.dumps({"purchaseId": PID, "pad": "x" * MAX_BODY}).encode()
    with pytest.raises(PayloadTooLarge) as info:
        parse_purchase_completed(body)
    assert info.value.status == 413 and str(MAX_BODY) in info.value.message


class Reader:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.asked: list[int] = []

    def __call__(self, limit: int) -> bytes:
        self.asked.append(limit)
        return self.body


def accept(reader: Reader, authorization: str | None = None, **kwargs: object) -> str:
    arguments: dict = {
        "authorization": basic("avarda", "current-pw") if authorization is None else authorization,
        "content_type": "application/json",
        "content_length": len(reader.body),
        "read_body": reader,
        "authenticator": CallbackAuthenticator(CREDS),
    }
    arguments.update(kwargs)
    return accept_purchase_completed(**arguments)


def test_the_body_is_read_only_after_authentication():
    reader = Reader(b"garbage")
    with pytest.raises(Unauthorized):
        accept(reader, authorization=basic("avarda", "wrong"))
    with pytest.raises(Unauthorized):
        accept(reader, authorization="", content_type="text/plain", content_length=10**9)
    assert reader.asked == []


def test_headers_are_checked_before_the_body_is_read():
    reader = Reader(b"garbage")
    with pytest.raises(UnsupportedMediaType):
        accept(reader, content_type="text/plain")
    with pytest.raises(PayloadTooLarge):
        accept(reader, content_length=MAX_BODY + 1)
    assert reader.asked == []


def test_an_accepted_callback_reads_at_most_one_byte_past_the_limit():
    reader = Reader(json.dumps({"purchaseId": PID}).encode())
    assert accept(reader, content_length=None) == PID
    assert reader.asked == [MAX_BODY + 1]


def test_an_undeclared_long_body_is_413():
    reader = Reader(b"{" + b" " * (MAX_BODY + 1) + b"}")
    with pytest.raises(PayloadTooLarge):
        accept(reader, content_length=None)
