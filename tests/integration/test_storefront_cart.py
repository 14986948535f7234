"""The catalogue, the product pages and the session cart, through the real forms."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from shop.catalog import get_product_by_sku
from shop.extensions import db
from tests.harness import (
    CartActions,
    close_app,
    csrf_token_from,
    flashes,
    in_app,
    make_shop_app,
    sqlite_shop_database,
    text,
)


def stock_of(app: Flask, sku: str) -> int:
    return in_app(app, lambda: get_product_by_sku(db.session(), sku).stock)


def test_catalogue_lists_products_with_prices_incl_vat_stock_and_pictures(client):
    response = client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'href="/products/MUG-01"' in page
    assert "Enamel camp mug" in page
    assert "149,00 kr" in page
    assert "599,00 kr" in page
    assert "/static/img/products/mug-01.svg" in page
    assert "Only 5 left" in page  # the socks
    for picture in re.findall(r'src="(/static/img/products/[^"]+)"', page):
        with client.get(picture) as image:
            assert image.status_code == 200, picture
            assert image.mimetype == "image/svg+xml"


def test_product_page_shows_price_vat_stock_and_an_add_to_cart_form(client):
    response = client.get("/products/BOOK-01")
    assert response.status_code == 200
    words = text(response)
    assert "Payments, plainly" in words
    assert "329,00 kr" in words
    assert "Including 6 % VAT (18,62 kr)" in words  # 32900 * 6 / 106, rounded half up
    assert "In stock" in words
    page = response.get_data(as_text=True)
    assert re.search(r'<form method="post" action="/cart/add"', page)
    assert re.search(r"<button[^>]*>Add to cart</button>", page)
    assert '<label for="quantity">Quantity</label>' in page


def test_unknown_product_is_a_404_page(client):
    response = client.get("/products/NO-SUCH-SKU", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Page not found" in text(response)
    assert client.get("/products/..%2Fetc").status_code == 404


def test_add_change_and_remove(cart):
    response = cart.add("MUG-01", 2)
    assert response.status_code == 200
    assert "Added 2 × Enamel camp mug to your cart." in flashes(response)
    cart.add("SOCKS-01")
    cart.add("MUG-01", 1)
    assert cart.lines() == [["MUG-01", 3], ["SOCKS-01", 1]]

    page = cart.page()
    words = text(page)
    assert "Enamel camp mug" in words and "Wool socks" in words
    assert "447,00 kr" in words  # 3 × 149,00
    assert "546,00 kr" in words  # + 99,00
    assert "109,20 kr" in words  # VAT: 89,40 + 19,80
    assert re.search(
        r'<a class="button button-primary" href="/checkout">Go to checkout</a>',
        page.get_data(as_text=True),
    )

    response = cart.update("MUG-01", 1)
    assert "Updated Enamel camp mug: 1 in your cart." in flashes(response)
    assert cart.lines() == [["MUG-01", 1], ["SOCKS-01", 1]]

    response = cart.update("MUG-01", 0)
    assert "Removed Enamel camp mug from your cart." in flashes(response)
    response = cart.remove("SOCKS-01")
    assert "Removed Wool socks from your cart." in flashes(response)
    assert cart.lines() == []
    assert "Your cart is empty." in text(cart.page())


def test_changes_answer_with_a_redirect_so_reload_does_not_repeat_them(cart):
    response = cart.add("MUG-01", 1, follow=False)
    assert response.status_code == 303
    assert response.headers["Location"] == "/products/MUG-01"
    assert cart.update("MUG-01", 2, follow=False).headers["Location"] == "/cart"
    assert cart.remove("MUG-01", follow=False).headers["Location"] == "/cart"


@pytest.mark.parametrize("quantity", ["0", "-1", "1.5", "abc", "", "100", "9" * 5000])
def test_bad_quantities_are_refused_and_change_nothing(cart, quantity):
    cart.add("MUG-01", 1)
    response = cart.add("MUG-01", quantity)
    assert response.status_code == 200
    assert any(
        "quantity" in f.lower() or "between" in f.lower() or "integer" in f.lower()
        for f in flashes(response)
    ), flashes(response)
    assert cart.lines() == [["MUG-01", 1]]


@pytest.mark.parametrize("quantity", ["-1", "x", "100"])
def test_bad_updates_are_refused_and_change_nothing(cart, quantity):
    cart.add("MUG-01", 2)
    response = cart.update("MUG-01", quantity)
    assert response.status_code == 200
    assert flashes(response)
    assert cart.lines() == [["MUG-01", 2]]


def test_unknown_or_malformed_skus_change_nothing(cart):
    assert cart.add("NOPE-99", 1, follow=False).status_code == 404
    response = cart.add("../../x", 1)
    assert "Unknown product." in flashes(response)
    response = cart.update("MUG-01", 3)  # not in the cart: a stale page
    assert "That product is no longer in your cart." in flashes(response)
    response = cart.remove("MUG-01")
    assert "That product was not in your cart." in flashes(response)
    assert cart.lines() == []


def test_the_cart_never_holds_more_than_the_stock(app, cart):
    assert stock_of(app, "SOCKS-01") == 5
    cart.add("SOCKS-01", 4)
    response = cart.add("SOCKS-01", 3)
    assert "Only 1 more Wool socks in stock; added those." in flashes(response)
    assert cart.lines() == [["SOCKS-01", 5]]
    response = cart.add("SOCKS-01", 1)
    assert "Sorry, there are no more Wool socks in stock." in flashes(response)
    response = cart.update("SOCKS-01", 9)
    assert "Only 5 Wool socks in stock." in flashes(response)
    assert cart.lines() == [["SOCKS-01", 5]]
    assert stock_of(app, "SOCKS-01") == 5  # a cart reserves nothing


def test_cart_badge_counts_items_on_every_page(client, cart):
    cart.add("MUG-01", 2)
    cart.add("TEE-01", 1)
    page = client.get("/").get_data(as_text=True)
    assert 'data-cart-count aria-hidden="true">3</span>' in page
    assert "(3 items)</span>" in page


def test_empty_cart_cannot_go_to_checkout(client):
    response = client.get("/checkout", follow_redirects=True)
    assert response.request.path == "/cart"
    assert "Your cart is empty. Add something before going to checkout." in flashes(response)


def test_csrf_is_enforced_when_enabled(tmp_path):
    app = make_shop_app(sqlite_shop_database(tmp_path, "csrf.db"), WTF_CSRF_ENABLED=True)
    try:
        client = app.test_client()
        cart = CartActions(client)
        response = client.post(
            "/cart/add", data={"sku": "MUG-01", "quantity": "1"}, headers={"Accept": "text/html"}
        )
        assert response.status_code == 400
        assert cart.lines() == []

        token = csrf_token_from(client.get("/products/MUG-01"))
        response = client.post(
            "/cart/add", data={"sku": "MUG-01", "quantity": "2", "csrf_token": token}
        )
        assert response.status_code == 303
        assert cart.lines() == [["MUG-01", 2]]

        for url, data in (
            ("/cart/update", {"sku": "MUG-01", "quantity": "5"}),
            ("/cart/remove", {"sku": "MUG-01"}),
        ):
            assert client.post(url, data=data | {"csrf_token": "forged"}).status_code == 400
        assert cart.lines() == [["MUG-01", 2]]

        token = csrf_token_from(client.get("/cart"))
        assert (
            client.post("/cart/remove", data={"sku": "MUG-01", "csrf_token": token}).status_code
            == 303
        )
        assert cart.lines() == []
    finally:
        close_app(app)


def test_pages_have_no_inline_scripts_or_styles(client, cart):
    cart.add("MUG-01")
    for url in ("/", "/products/MUG-01", "/cart", "/admin/login"):
        page = client.get(url).get_data(as_text=True)
        assert "style=" not in page, url
        assert "<style" not in page, url
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag, (url, tag)
        assets = re.findall(r'<(?:script|link|img)\b[^>]*?(?:src|href)="([^"]+)"', page)
        assert assets and not any("//" in asset for asset in assets), (url, assets)  # no CDN
