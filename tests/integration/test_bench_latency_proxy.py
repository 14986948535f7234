"""The benchmark's delaying proxy forwards requests and answers unchanged and counts the
Avarda calls passing through (its delay is measured by the benchmark, not asserted)."""

from __future__ import annotations

import socket
import sys

import requests
from flask import Flask, request

from tests.harness import Process, free_port, serve_wsgi, wait_until


def echo_app() -> Flask:
    app = Flask(__name__)

    @app.post("/CheckOut2/CheckOut2Api/<method>")
    def api(method: str):
        return {"method": method, "body": request.get_json()}

    return app


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_forwards_and_counts_calls(tmp_path):
    log = tmp_path / "proxy.log"
    with serve_wsgi(echo_app()) as url:
        port = free_port()
        target = url.removeprefix("http://")
        args = ["-m", "bench.latency_proxy", f"--port={port}", f"--target={target}"]
        proxy = Process([sys.executable, *args, "--delay=0.01"], {}, log).start()
        try:
            wait_until(lambda: listening(port), timeout=20, message="the proxy listens")
            base = f"http://127.0.0.1:{port}/CheckOut2/CheckOut2Api"
            with requests.Session() as http:  # one kept-alive connection for both calls
                for method in ("GetPaymentStatus", "GetPaymentStatusQueue"):
                    answer = http.post(f"{base}/{method}", json={"PurchaseId": "a" * 32}, timeout=5)
                    assert answer.json() == {"method": method, "body": {"PurchaseId": "a" * 32}}
        finally:
            proxy.kill()
            proxy.wait_stopped(0)
    counted = [line.split()[1:] for line in log.read_text().splitlines() if line[:1].isdigit()]
    assert counted == [
        ["GetPaymentStatus"],
        ["purchase", "a" * 32],
        ["GetPaymentStatusQueue"],
        ["purchase", "a" * 32],
    ]
