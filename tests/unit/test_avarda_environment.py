"""The Avarda client honours the environment's proxy and CA settings, read once when a
thread's session is made (not on every call, which walked the whole environment)."""

from __future__ import annotations

import pytest

from shop.avarda import AvardaClient

BASE = "https://stage.avarda.org/CheckOut2"


def session_of(client: AvardaClient):
    return client._session  # noqa: SLF001 - what each call is sent with


def test_a_proxy_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = session_of(AvardaClient(BASE, "site", "password"))
    assert session.proxies.get("https") == "http://proxy.example:3128"
    assert session.trust_env is False  # read once, above


def test_no_proxy_for_avardas_host_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "stage.avarda.org")
    session = session_of(AvardaClient(BASE, "site", "password"))
    assert "https" not in session.proxies


def test_a_ca_bundle_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    session = session_of(AvardaClient(BASE, "site", "password"))
    assert session.verify == str(bundle)


def test_without_settings_tls_is_verified_and_no_proxy_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    session = session_of(AvardaClient(BASE, "site", "password"))
    assert session.verify is True and "https" not in session.proxies
