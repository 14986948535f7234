"""The storefront's and the admin's forms (Flask-WTF: CSRF token included).

Validation here is about shape only (a SKU-like string, a small whole number); whether
the product exists and has stock is the view's business, against the database.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

from shop.cart import SKU_PATTERN, Cart

_sku = [DataRequired(), Regexp(SKU_PATTERN, message="Unknown product.")]


class AddToCartForm(FlaskForm):
    sku = HiddenField(validators=_sku)
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[
            InputRequired("Enter a quantity."),
            NumberRange(1, Cart.MAX_QUANTITY, "Choose between %(min)s and %(max)s."),
        ],
    )


class UpdateLineForm(FlaskForm):
    sku = HiddenField(validators=_sku)
    quantity = IntegerField(
        "Quantity",
        validators=[
            InputRequired("Enter a quantity."),
            NumberRange(0, Cart.MAX_QUANTITY, "Choose between %(min)s and %(max)s."),
        ],
    )


class RemoveLineForm(FlaskForm):
    sku = HiddenField(validators=_sku)


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def first_error(form: FlaskForm) -> str:
    """One message for a flash, from whichever field failed first."""
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return "Please check the form and try again."
