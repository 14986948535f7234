"""The shop's Avarda client against the real sandbox over HTTP: a purchase from start to
delivery, and Avarda's refusals as the back office will see them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shop.avarda import (
    AvardaAuthError,
    AvardaCheckoutRefused,
    AvardaClient,
    AvardaCommerceRefused,
    InitializePayment,
    Item,
    PaymentMethod,
    PurchaseState,
    new_tran_id,
)
from tests.harness import Stack

MUG = Item(description="Mug", notes="MUG-01 x 2", amount=Decimal("298.00"), tax_code="25",
           tax_amount=Decimal("59.60"))  # fmt: skip
TEE = Item(description="T-shirt", amount=Decimal("249.50"), tax_code="25",
           tax_amount=Decimal("49.90"))  # fmt: skip


@pytest.fixture
def client(stack: Stack) -> AvardaClient:
    """The shop's Avarda client (not the Flask test client), logged in as the shop."""
    return AvardaClient(stack.avarda_url, *stack.site_auth, timeout=10)


def new_purchase(client: AvardaClient, *items: Item, reference: str = "260101-AB") -> str:
    total = sum((item.amount for item in items), Decimal(0))
    return client.initialize_payment(
        InitializePayment(
            price=total, items=list(items), order_reference=reference, user_language_code="sv-SE"
        )
    )


def test_a_purchase_from_initialize_to_delivery(client, stack):
    purchase_id = new_purchase(client, MUG)
    assert client.get_payment_status(purchase_id).state is PurchaseState.NEW

    client.update_items(
        purchase_id, price=Decimal("547.50"), items=[MUG, TEE], order_reference="260101-AB"
    )
    stack.complete(purchase_id, "Card", callback=False)

    status = client.get_payment_status(purchase_id)
    assert status.state is PurchaseState.COMPLETED and status.is_completed
    assert status.payment_method is PaymentMethod.CARD
    assert status.price == Decimal("547.50") and status.order_reference == "260101-AB"
    assert status.mail and status.invoicing.city

    tran_id = new_tran_id()
    client.purchase_order(purchase_id, order_reference="260101-AB", items=[MUG], tran_id=tran_id)
    # The same TranId again (a retry after a timeout) is not applied twice.
    client.purchase_order(purchase_id, order_reference="260101-AB", items=[MUG], tran_id=tran_id)
    client.purchase_order(
        purchase_id, order_reference="260101-AB", items=[TEE], tran_id=new_tran_id()
    )
    client.return_order(purchase_id, order_reference="260101-AB", items=[TEE],
                        tran_id=new_tran_id())  # fmt: skip
    client.refund(
        purchase_id, order_reference="260101-AB", amount=Decimal("10.00"), tran_id=new_tran_id()
    )
    admin = stack.purchase(purchase_id)
    assert Decimal(str(admin["DeliveredAmount"])) == Decimal("547.50")


def test_cancel_after_delivery_is_refused_in_avardas_words(client, stack):
    purchase_id = new_purchase(client, MUG)
    stack.complete(purchase_id, callback=False)
    client.purchase_order(purchase_id, order_reference="R", items=[MUG], tran_id=new_tran_id())

    with pytest.raises(AvardaCommerceRefused) as info:
        client.cancel_payment(purchase_id, reason="Customer changed their mind")
    assert info.value.code and "denied" in info.value.message.lower()
    assert client.get_payment_status(purchase_id).state is PurchaseState.COMPLETED


def test_cancel_payment_cancels(client, stack):
    purchase_id = new_purchase(client, MUG)
    stack.complete(purchase_id, callback=False)
    client.cancel_payment(purchase_id, reason="Out of stock")
    assert client.get_payment_status(purchase_id).state is PurchaseState.CANCELLED


def test_update_items_after_completion_is_a_checkout_refusal(client, stack):
    purchase_id = new_purchase(client, MUG)
    stack.complete(purchase_id, callback=False)
    with pytest.raises(AvardaCheckoutRefused) as info:
        client.update_items(purchase_id, price=Decimal("249.50"), items=[TEE], order_reference="R")
    assert info.value.errors


def test_a_purchase_avarda_does_not_know_is_a_checkout_refusal(client):
    with pytest.raises(AvardaCheckoutRefused):
        client.get_payment_status("f" * 32)


def test_wrong_site_credentials(stack):
    client = AvardaClient(stack.avarda_url, stack.site_auth[0], "wrong")
    with pytest.raises(AvardaAuthError):
        client.get_payment_status("f" * 32)
