"""Error pages: JSON for API clients, HTML for browsers (the microblog pattern).

A client that prefers ``application/json`` (or accepts anything, like ``curl``) gets
``{"error": ..., "message": ..., "status": ...}``; a browser gets the template
``errors/<code>.html`` when the web layer has one, otherwise a short plain page.
Unexpected exceptions roll the session back and answer 500 without any detail.

A database that is busy or unreachable (SQLite's busy timeout ran out, a PostgreSQL lock or
connection failure, the pool's wait ran out) is not a bug of ours: every page answers 503
with ``Retry-After`` and a friendly page, never 500.
"""

from __future__ import annotations

import logging

import sqlalchemy.exc
from flask import Flask, Response, jsonify, render_template, request
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException, InternalServerError

from shop.extensions import db

log = logging.getLogger(__name__)

#: Seconds a client should wait before trying again after a 503.
RETRY_AFTER = 5
#: What a busy or unreachable database raises through SQLAlchemy.
DATABASE_BUSY = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError)


def wants_json_response() -> bool:
    accept = request.accept_mimetypes
    return accept["application/json"] >= accept["text/html"]


def error_response(status: int, message: str | None = None) -> Response:
    """The response for an HTTP error ``status``, in the format the client accepts."""
    exc = InternalServerError() if status == 500 else None
    name = _name(status, exc)
    message = message or name
    if wants_json_response():
        response = jsonify(error=name, message=message, status=status)
    else:
        try:
            body = render_template(f"errors/{status}.html", status=status, message=message)
            response = Response(body, mimetype="text/html")
        except TemplateNotFound:
            response = Response(f"{status} {name}\n\n{message}\n", mimetype="text/plain")
        except DATABASE_BUSY:
            # The page's layout itself needed the database (a signed-in admin's name).
            db.session.rollback()
            response = Response(f"{status} {name}\n\n{message}\n", mimetype="text/plain")
    response.status_code = status
    if status == 503:
        response.headers.setdefault("Retry-After", str(RETRY_AFTER))
    return response


def _name(status: int, exc: HTTPException | None = None) -> str:
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(status, exc.name if exc else "Error")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException) -> Response:
        response = error_response(exc.code or 500, exc.description)
        for key, value in exc.get_headers():
            if key.lower() not in ("content-type", "content-length"):
                response.headers[key] = value
        return response

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.TimeoutError)
    def handle_database_busy(exc: Exception) -> Response:
        log.warning(
            "database busy or unreachable on %s %s: %s",
            request.method,
            request.path,
            type(exc).__name__,
        )
        db.session.rollback()
        return error_response(503, "We are very busy right now. Please try again in a moment.")

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(500, "Something went wrong on our side.")
