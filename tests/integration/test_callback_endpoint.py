"""POST /avarda/purchase-completed over a real socket: what only a real HTTP server shows.

The rest of the endpoint's checks run through the test client in
``tests/unit/test_callback.py``; these two need bytes on the wire that no client library
or test client would send. Every refused request leaves the database exactly as it was.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests

from tests.harness import CALLBACK_PATH as PATH

UNKNOWN = "f" * 32


def test_non_ascii_header_bytes_are_401(stack):
    """A raw Authorization header with non-ASCII bytes (requests would refuse to send it)."""
    before = stack.snapshot()
    parts = urlsplit(stack.shop_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    body = json.dumps({"purchaseId": UNKNOWN}).encode()
    conn.putrequest("POST", PATH)
    conn.putheader("Authorization", b"Basic \xc3\xa5\xff")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    assert response.status == 401
    conn.close()
    assert stack.snapshot() == before


def test_large_chunked_body_is_413(stack):
    """A body without Content-Length, sent in chunks, is still cut off at the limit."""
    purchase_id = stack.checkout().purchase_id
    stack.complete(purchase_id, callback=False)
    before = stack.snapshot()

    def chunks() -> Iterator[bytes]:
        yield json.dumps({"purchaseId": purchase_id}).encode()[:-1]
        for i in range(10):
            yield b', "p' + str(i).encode() + b'": "' + b"x" * 1000 + b'"'
        yield b"}"

    response = requests.post(
        stack.shop_url + PATH,
        data=chunks(),
        headers={"Content-Type": "application/json"},
        auth=stack.callback_auth,
        timeout=5,
    )
    assert response.status_code == 413, response.text
    assert stack.snapshot() == before
