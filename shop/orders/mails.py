"""E-mail texts for the core, rendered from ``templates/mail/`` without Flask.

(Shaped like the ``shop.texts`` the framework-free refactor introduces; this module goes
once that lands.)

``render_email(name)`` renders ``mail/<name>.subject.txt`` (white space folded to one
line) and ``mail/<name>.body.txt`` with a plain ``jinja2.Environment``: plain text, no
HTML escaping, an undefined name is an error rather than an empty string.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_email(name: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of the e-mail ``name``."""
    env = _environment()
    subject = env.get_template(f"mail/{name}.subject.txt").render(**context)
    body = env.get_template(f"mail/{name}.body.txt").render(**context)
    return " ".join(subject.split()), body
