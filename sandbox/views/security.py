"""Security headers on every sandbox response, and the request size limit.

A body larger than ``MAX_CONTENT_LENGTH`` is refused with 413 before any view runs,
whether or not the view would read it (Flask enforces the limit only when the body is
read).

Pages that set their own ``Content-Security-Policy`` keep it: the checkout form, which
the merchant's allowed origins may frame (``views/checkout.form``). Everything else may
be framed by nobody, runs only the sandbox's own scripts and styles, and the dashboard
and its API are never cached (they show purchases and settings).
"""

from __future__ import annotations

from flask import Flask, Response, abort, request


def csp(form_action: list[str] | None = None) -> str:
    """The policy of a sandbox page; ``form_action``: origins besides the sandbox's own
    that a form may lead to (browsers apply ``form-action`` to the redirect after the
    submission too: the external step pages send the customer back to the shop)."""
    targets = " ".join(["'self'", *(form_action or [])])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )


CSP = csp()
PRIVATE_PREFIX = "/CheckOut2/Sandbox"


def register(app: Flask) -> None:
    @app.before_request
    def limit_body() -> None:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and (request.content_length or 0) > limit:
            abort(413)

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if "Content-Security-Policy" not in headers:
            headers["Content-Security-Policy"] = CSP
            headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(PRIVATE_PREFIX) and not request.path.startswith(
            f"{PRIVATE_PREFIX}/static/"
        ):
            headers["Cache-Control"] = "no-store"
        return response
