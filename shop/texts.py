"""Text for people that the core writes, rendered from the project's templates without
Flask.

The confirm step puts the confirmation e-mail into the outbox in the transaction that
pays the order, so the outbox keeps exactly what was decided then, and a mailer that
runs later (or in another process) only sends it. The core must run without an app, so
it renders with a plain ``jinja2.Environment`` over ``templates/``, the folder Flask's
pages use too, rather than with Flask's ``render_template``. E-mails are plain text:
no HTML escaping here, and undefined variables are errors, not blanks. Pages (such as
the order timeline) are rendered by Flask as usual.

Where the templates are: ``templates/`` beside the package that holds this module (here
the project's ``templates/``; in a copy of the core, the folder beside the copied
package). A project that keeps them elsewhere calls :func:`use_templates` once at
start-up, before the first e-mail is rendered.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_folder = TEMPLATES


def use_templates(folder: str | Path) -> None:
    """Render from ``folder`` (which holds ``mail/``) instead of :data:`TEMPLATES`."""
    global _folder
    _folder = Path(folder)
    environment.cache_clear()


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_folder),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_text(name: str, **context: Any) -> str:
    """Render ``templates/<name>`` as plain text."""
    return environment().get_template(name).render(**context)


def render_email(kind: str, **context: Any) -> tuple[str, str]:
    """Subject and body of an e-mail: ``templates/mail/<kind>.subject.txt`` and
    ``.body.txt``."""
    subject = " ".join(render_text(f"mail/{kind}.subject.txt", **context).split())
    return subject, render_text(f"mail/{kind}.body.txt", **context)
