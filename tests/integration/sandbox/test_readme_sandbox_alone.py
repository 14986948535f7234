"""The README's "Running the sandbox alone" works as written: its shell blocks, run in
order with bash and curl against a live sandbox (its port and the shop's in place of the
README's), answer 2xx, change what they say, and the scripted purchase reaches the shop
with the credentials set before it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from tests.harness import ROOT, skip_or_fail
from tests.integration.sandbox.support import ADMIN, CALLBACK_AUTH, SITE_CODE, SITE_PASSWORD

SANDBOX_PORT_URL = "http://127.0.0.1:5001"
SHOP_URL = "http://127.0.0.1:8000"
#: Make curl fail on a 4xx or 5xx (the README leaves the answer on screen instead).
STRICT_CURL = 'curl() { command curl --fail-with-body "$@"; echo; }\n'


def section_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Running the sandbox alone", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def run(script: str, cwd: Path) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", STRICT_CURL + script],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_readme_commands_work_against_a_running_sandbox(tmp_path, make_sandbox, receiver):
    if shutil.which("curl") is None:
        skip_or_fail("curl not found: install it (`sudo apt-get install curl`) to run this test")
    sandbox = make_sandbox(allow_receiver=False)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "settings.env").write_text(
        f"AVARDA_SITE_CODE={SITE_CODE}\nAVARDA_SITE_PASSWORD={SITE_PASSWORD}\n"
        f"CALLBACK_USERNAME={CALLBACK_AUTH[0]}\nCALLBACK_PASSWORD={CALLBACK_AUTH[1]}\n"
        f"SANDBOX_ADMIN_USERNAME={ADMIN[0]}\nSANDBOX_ADMIN_PASSWORD={ADMIN[1]}\n"
    )
    started, setup, origins, credentials, purchase, faults = section_blocks()
    assert "make sandbox SANDBOX_PORT=5001" in started
    lines = setup.replace(SANDBOX_PORT_URL, sandbox.url).splitlines(keepends=True)
    here = "".join(line for line in lines if not line.startswith("curl "))
    show = "".join(line for line in lines if line.startswith("curl "))

    def readme(block: str) -> list[str]:
        """The block's answers, one a line."""
        output = run(here + block.replace(SHOP_URL, receiver.origin), tmp_path)
        return [line for line in output.splitlines() if line.strip()]

    [shown] = [json.loads(line) for line in readme(show)]
    assert shown["site_code"] == SITE_CODE and shown["callback_authorization"]["password"] == "***"

    [origins_set] = readme(origins)
    assert json.loads(origins_set)["callback_allowed_origins"] == [receiver.origin]
    _basic, bearer = readme(credentials)
    assert json.loads(bearer)["callback_authorization"] == {"scheme": "Bearer", "token": "***"}

    _completed, status_line, _purchase = readme(purchase)
    status = json.loads(status_line)
    assert (status["State"], status["Price"]) == (2, 249.00)
    assert sandbox.deliver() == 1
    [callback] = receiver.hits("/avarda/purchase-completed")
    assert json.loads(callback["body"]) == {"purchaseId": status["PurchaseId"]}
    token = re.search(r'"token": "([^"]+)"', credentials)
    assert token and callback["headers"]["Authorization"] == f"Bearer {token.group(1)}"

    readme(faults)
    settings = sandbox.settings()
    assert settings["fail_first_attempts"] == 2 and settings["retry_schedule_ms"] == [0, 1000, 2000]
    assert (settings["callback_enabled"], settings["never_call_done"]) == (False, True)
