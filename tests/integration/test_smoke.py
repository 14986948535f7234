import requests


def test_both_apps_answer_healthz_over_http(stack):
    for url in (stack.shop_url, stack.sandbox_url):
        assert requests.get(url + "/healthz", timeout=5).json() == {"status": "ok"}
