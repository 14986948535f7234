"""App-wide error pages: JSON for API clients, HTML for browsers (by the Accept header)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith(("/CheckOut2/CheckOut2Api", "/CheckOut2/Sandbox/Api")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" or request.is_json


def _render(exc: HTTPException) -> tuple[Response | str, int]:
    code = exc.code or 500
    if wants_json():
        return jsonify({"error": exc.name, "message": exc.description}), code
    return render_template("sandbox/error.html", error=exc), code


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int]:
        return _render(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response | str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(InternalServerError())
