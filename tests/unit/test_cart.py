"""The session cart helper and the money filter, on plain dicts (no app needed)."""

from __future__ import annotations

import pytest

from shop.cart import Cart, CartError, CartLine, parse_quantity
from shop.views.templating import format_money


def test_add_keeps_insertion_order_and_sums_quantities():
    session: dict = {}
    cart = Cart(session)
    assert cart.add("MUG-01", 2) == 2
    assert cart.add("BAG-07") == 1
    assert cart.add("MUG-01", 3) == 5
    assert cart.lines() == [CartLine("MUG-01", 5), CartLine("BAG-07", 1)]
    assert cart.count() == 6
    assert len(cart) == 2
    assert session["cart"] == [["MUG-01", 5], ["BAG-07", 1]]


def test_add_caps_a_line_at_the_maximum():
    cart = Cart({})
    cart.add("MUG-01", Cart.MAX_QUANTITY)
    assert cart.add("MUG-01", 5) == Cart.MAX_QUANTITY


@pytest.mark.parametrize("qty", [0, -1, "1.5", "", "abc", True, 1.0, "١", Cart.MAX_QUANTITY + 1])
def test_add_refuses_bad_quantities_and_changes_nothing(qty):
    session = {"cart": [["MUG-01", 1]]}
    with pytest.raises(CartError):
        Cart(session).add("MUG-01", qty)
    assert session == {"cart": [["MUG-01", 1]]}


@pytest.mark.parametrize("sku", ["", "../etc", "a b", "x" * 65, None, 3])
def test_add_refuses_bad_skus(sku):
    session: dict = {}
    with pytest.raises(CartError):
        Cart(session).add(sku, 1)
    assert session == {}


def test_too_many_different_products_is_refused():
    cart = Cart({})
    for i in range(Cart.MAX_LINES):
        cart.add(f"SKU-{i}")
    with pytest.raises(CartError):
        cart.add("ONE-MORE")
    assert len(cart) == Cart.MAX_LINES
    cart.add("SKU-0")  # an existing line can still grow
    assert cart.quantity("SKU-0") == 2


def test_set_quantity_changes_and_zero_removes():
    cart = Cart({})
    cart.add("MUG-01")
    cart.add("BAG-07")
    cart.set_quantity("MUG-01", "4")
    assert cart.quantity("MUG-01") == 4
    cart.set_quantity("MUG-01", 0)
    assert cart.lines() == [CartLine("BAG-07", 1)]


def test_set_quantity_of_a_line_not_in_the_cart_is_an_error():
    session = {"cart": [["MUG-01", 1]]}
    with pytest.raises(CartError):
        Cart(session).set_quantity("BAG-07", 2)
    assert session == {"cart": [["MUG-01", 1]]}


def test_remove_and_clear():
    session: dict = {}
    cart = Cart(session)
    cart.add("MUG-01")
    cart.order_token = "tok"
    assert cart.remove("MUG-01") is True
    assert cart.remove("MUG-01") is False
    assert not cart
    assert "cart" not in session
    cart.add("BAG-07")
    cart.clear()
    assert session == {}
    assert cart.order_token is None


def test_garbage_in_the_session_is_ignored():
    session = {
        "cart": [
            ["MUG-01", 2],
            ["MUG-01", 5],  # duplicate: the first wins
            ["bad sku", 1],
            ["BAG-07", "3"],
            ["CUP-02", True],
            ["CUP-03", 0],
            "nonsense",
            ["TEA-04", 1, "extra"],
            ["TEA-05", 1],
        ]
    }
    assert Cart(session).lines() == [CartLine("MUG-01", 2), CartLine("TEA-05", 1)]
    assert Cart({"cart": "not a list"}).lines() == []


def test_modified_flag_is_set_on_session_objects():
    class FakeSession(dict):
        modified = False

    session = FakeSession()
    Cart(session).add("MUG-01")
    assert session.modified is True


def test_parse_quantity_accepts_digits_only():
    assert parse_quantity(" 7 ") == 7
    assert parse_quantity("0", allow_zero=True) == 0
    with pytest.raises(CartError):
        parse_quantity("0")
    with pytest.raises(CartError):
        parse_quantity("+3")


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (124900, "1 249,00 kr"),
        (0, "0,00 kr"),
        (5, "0,05 kr"),
        (19900, "199,00 kr"),
        (123456789, "1 234 567,89 kr"),
        (-2500, "-25,00 kr"),
    ],
)
def test_money_is_formatted_the_swedish_way(minor, text):
    assert format_money(minor) == text


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        format_money(12.5)  # type: ignore[arg-type]
