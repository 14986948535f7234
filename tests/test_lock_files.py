"""``requirements.lock`` and ``requirements-dev.lock`` (what ``make run``, ``make test``
and CI install, with ``--require-hashes``) agree with the ranges in ``requirements*.txt``:
every requirement is pinned to a version inside its range, every pin carries hashes, and
the two locks pin the shared packages alike. ``make lock`` refreshes them."""

from __future__ import annotations

import re

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.harness import ROOT

PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)")


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{name}: {match.group(1)} has no hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def requirements(name: str) -> list[Requirement]:
    lines = (ROOT / name).read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and line[0] not in "#-"]


def test_every_requirement_is_pinned_inside_its_range_with_hashes():
    for lock, sources in (
        ("requirements.lock", ["requirements.txt"]),
        ("requirements-dev.lock", ["requirements.txt", "requirements-dev.txt"]),
    ):
        pinned = pins(lock)
        for source in sources:
            for requirement in requirements(source):
                version = pinned.get(canonicalize_name(requirement.name))
                assert version is not None, f"{requirement.name} is not in {lock}: make lock"
                assert requirement.specifier.contains(version, prereleases=True), (
                    f"{lock} pins {requirement.name}=={version}, outside {requirement}: make lock"
                )


def test_both_locks_pin_the_shared_packages_alike():
    run, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in run} == run
    assert "setuptools" in dev and "pip" in dev  # no stale tools from the virtualenv
