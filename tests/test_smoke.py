import requests

from sandbox import create_app as create_sandbox
from shop import create_app


def test_both_apps_answer_healthz_over_http(live_server):
    for app in (create_app({"TESTING": True}), create_sandbox({"TESTING": True})):
        url = live_server(app)
        assert requests.get(url + "/healthz", timeout=5).json() == {"status": "ok"}
