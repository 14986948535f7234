"""``flask create-admin``: prompted password, stored hashed, one admin per address."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AdminUser

GOOD = "correct horse battery"


def admins() -> dict[str, AdminUser]:
    db.session.expire_all()
    return {a.email: a for a in db.session.scalars(sa.select(AdminUser))}


def create(app, email: str, password: str = GOOD, confirm: str | None = None):
    answers = f"{password}\n{password if confirm is None else confirm}\n"
    return app.test_cli_runner().invoke(args=["create-admin", "--email", email], input=answers)


def test_create_admin_prompts_and_stores_a_hash(shop):
    app, _ = shop
    result = create(app, "  Support@Example.com ")

    assert result.exit_code == 0, result.output
    assert GOOD not in result.output  # the prompt hides what was typed
    user = admins()["support@example.com"]
    assert user.password_hash != GOOD and GOOD not in user.password_hash
    assert user.check_password(GOOD) and not user.check_password(GOOD + "x")


def test_the_new_admin_can_sign_in(shop):
    app, _ = shop
    assert create(app, "support@example.com").exit_code == 0
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = client.post("/admin/login", data={"email": "SUPPORT@example.com", "password": GOOD})
    assert response.status_code == 303


def test_the_email_prompt_is_used_without_the_option(shop):
    app, _ = shop
    result = app.test_cli_runner().invoke(
        args=["create-admin"], input=f"helpdesk@example.com\n{GOOD}\n{GOOD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "helpdesk@example.com" in admins()


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("ADMIN@example.com", GOOD, "exists already"),  # the seeded demo admin, any case
        ("not-an-address", GOOD, "is not an e-mail address"),
        ("x@" + "e" * 120 + ".com", GOOD, "is not an e-mail address"),
        ("short@example.com", "too-short", "12 to 200 characters"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(shop, email, password, message):
    app, _ = shop
    before = {e: a.password_hash for e, a in admins().items()}
    result = create(app, email, password)
    assert result.exit_code == 1
    assert message in result.output
    assert password not in result.output
    assert {e: a.password_hash for e, a in admins().items()} == before


def test_a_mistyped_confirmation_is_asked_again(shop):
    app, _ = shop
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "ops@example.com"],
        input=f"{GOOD}\n{GOOD}-typo\n{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower()
    assert admins()["ops@example.com"].check_password(GOOD)
