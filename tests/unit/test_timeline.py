"""The order page's sentences (templates/orders/_timeline.html), word for word."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from flask import Flask, render_template_string

from shop import create_app
from shop.models import Order, OrderEvent
from shop.orders.queries import Timeline

T = datetime(2026, 11, 24, 12, 3, 7, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 12, 3, 9, 250_000, tzinfo=UTC)


@pytest.fixture
def app(sqlite_url: str) -> Flask:
    return create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": sqlite_url})


def render(app: Flask, macro: str, arg: object) -> str:
    with app.test_request_context():
        return render_template_string(
            '{% from "orders/_timeline.html" import ' + macro + " %}{{ " + macro + "(arg) }}",
            arg=arg,
        )


def say(app: Flask, macro: str, arg: object) -> str:
    """The sentence as a browser without JavaScript shows it (UTC times, entities decoded);
    static/js/site.js then shows each <time> in the reader's zone."""
    return html.unescape(re.sub(r"<[^>]+>", "", render(app, macro, arg)))


def order(state: str, by: str | None = None, **fields: object) -> Order:
    return Order(
        number="261124-ABCD0123", state=state, confirmed_by=by,
        confirmed_at=T if by else None, created_at=T, **fields,
    )  # fmt: skip


def event(path: str, outcome: str, attempt: int = 1, state: str | None = "Completed") -> OrderEvent:
    return OrderEvent(path=path, at=LATER, attempt=attempt, avarda_state=state, outcome=outcome)


@pytest.mark.parametrize(
    "the_order, events, sentence",
    [
        (order("pending"), [], "Waiting for payment. Avarda has not reported a completed "
         "purchase yet; this page updates when it does."),
        (order("failed"), [], "Not paid. Avarda reports that the purchase was cancelled, "
         "failed or timed out."),
        (order("on_hold", "callback", hold_reason="Amount mismatch"), [],
         "On hold for review since 12:03:07.000 UTC: Amount mismatch."),
        (order("on_hold", "callback", hold_reason="Stock ran out."), [],
         "On hold for review since 12:03:07.000 UTC: Stock ran out."),
        (order("paid", "callback"), [event("callback", "paid")],
         "Paid. Confirmed by Avarda's server-side callback at 12:03:07.000 UTC; "
         "your browser did not return to the shop."),
        (order("paid", "callback"), [event("callback", "paid"), event("browser", "duplicate")],
         "Paid. Confirmed by Avarda's server-side callback at 12:03:07.000 UTC; "
         "your browser returned at 12:03:09.250 UTC and found it already paid."),
        (order("paid", "browser"), [event("browser", "paid")],
         "Paid. Confirmed when your browser returned to the shop at 12:03:07.000 UTC; "
         "Avarda's server-side callback has not arrived."),
        (order("paid", "browser"), [event("browser", "paid"), event("callback", "duplicate")],
         "Paid. Confirmed when your browser returned to the shop at 12:03:07.000 UTC; "
         "Avarda's server-side callback arrived at 12:03:09.250 UTC and found it already paid."),
        (order("paid", "sweep"), [event("sweep", "paid")],
         "Paid. Confirmed by the shop's background check at 12:03:07.000 UTC; neither your browser "
         "nor Avarda's server-side callback had reached the shop."),
        (order("paid", "sweep"), [event("browser", "pending"), event("sweep", "paid")],
         "Paid. Confirmed by the shop's background check at 12:03:07.000 UTC."),
    ],
)  # fmt: skip
def test_headline(app, the_order, events, sentence):
    assert say(app, "headline", Timeline(the_order, events)) == sentence


def test_event_sentences(app):
    assert say(app, "event_sentence", event("callback", "paid")) == (
        "12:03:09.250 UTC: Avarda's server-side callback. Avarda said Completed; "
        "the order was marked paid."
    )
    assert say(app, "event_sentence", event("browser", "avarda_unavailable", 2, None)) == (
        "12:03:09.250 UTC: Your browser returning to the shop (notification 2). No answer from "
        "Avarda; Avarda could not be asked, nothing changed."
    ).replace("No answer", "no answer")
    assert (
        say(app, "placed", order("pending"))
        == "Order 261124-ABCD0123 was placed at 12:03:07.000 UTC."
    )


def test_times_are_marked_up_for_the_readers_time_zone(app):
    sentence = render(app, "event_sentence", event("callback", "paid"))
    assert sentence.startswith(
        '<time datetime="2026-11-24T12:03:09.250+00:00" data-local="time-ms">'
        "12:03:09.250 UTC</time>"
    )
