"""Going to checkout: a pending order and its Avarda purchase.

``begin_checkout`` is called by the checkout page on every visit, including the
re-entry after a card or bank step (``callback=…&purchaseId=…``), so the common case
is cheap: the same cart and the same pending order give back the same purchase.

One purchase belongs to exactly one order, forever. When Avarda refuses to update a
purchase (the customer is at an external step, or it is finished) the shop starts a
new order with a new purchase instead of re-pointing the old order; the old order
stays pending until the confirm step or the sweep learns what became of its purchase,
so a payment made in another tab is never lost.

No transaction is open while Avarda is called. Framework-free: a ``Session`` and the
Avarda client are arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.avarda import (
    AvardaClient,
    AvardaError,
    AvardaRefused,
    AvardaUnavailable,
    InitializePayment,
    Item,
    Language,
    PurchaseState,
    Unrecognized,
    minor_to_decimal,
)
from shop.catalog import MAX_QUANTITY, PricedCart, price, products_by_id
from shop.models import Order, OrderLine, OrderState, new_order_number, new_token
from shop.orders.errors import CheckoutUnavailable, EmptyCart, InvalidCart, OutOfStock
from shop.transactions import end_read, lock_order, write_transaction

log = logging.getLogger(__name__)

NUMBER_ATTEMPTS = 3


@dataclass(frozen=True)
class CheckoutSession:
    """What the checkout page needs to render Avarda's form."""

    order_token: str
    purchase_id: str
    order_number: str
    total_minor: int
    vat_minor: int
    currency: str
    reused: bool = False
    #: Avarda already says Completed: send the browser to the done page instead.
    completed: bool = False


def avarda_items(cart: PricedCart) -> list[Item]:
    """The cart's lines as Avarda's items (row totals incl. VAT)."""
    return [
        Item(
            description=line.name,
            notes=f"{line.sku} x {line.quantity}",
            amount=minor_to_decimal(line.total_minor),
            tax_code=str(line.vat_percent),
            tax_amount=minor_to_decimal(line.vat_minor),
        )
        for line in cart.lines
    ]


def begin_checkout(
    session: Session,
    client: AvardaClient,
    lines: Sequence[tuple[int, int]],
    current_token: str | None,
    *,
    language: Language = "en-US",
) -> CheckoutSession:
    """Create or reuse the pending order for a cart of ``(product_id, quantity)`` lines.

    ``current_token`` is the token of the order this browser checked out before (from
    its session), or None. Raises :class:`EmptyCart`, :class:`InvalidCart`,
    :class:`OutOfStock` or :class:`CheckoutUnavailable` (Avarda failed); nothing is
    written in those cases.
    """
    cart = price_cart(session, lines)
    existing = _pending_order(session, current_token) if current_token else None
    end_read(session)

    if existing is not None and existing.purchase_id:
        if existing.cart_fingerprint == cart.fingerprint:
            state = _purchase_state(client, existing.purchase_id)
            if state is None or not (isinstance(state, PurchaseState) and state.is_dead):
                return _session(existing, reused=True, completed=state == PurchaseState.COMPLETED)
        else:
            try:
                client.update_items(
                    existing.purchase_id,
                    price=minor_to_decimal(cart.total_minor),
                    items=avarda_items(cart),
                    order_reference=existing.number,
                )
            except AvardaRefused:
                log.info("UpdateItems refused for order %s: new purchase", existing.number)
            except AvardaError as exc:
                raise CheckoutUnavailable() from exc
            else:
                updated = _replace_lines(session, existing.id, existing.purchase_id, cart)
                if updated is not None:
                    return _session(updated, reused=True)
    return _new_order(session, client, cart, language)


def price_cart(session: Session, lines: Sequence[tuple[int, int]]) -> PricedCart:
    """Validate the cart against the catalogue: prices from the database, never the caller."""
    quantities: dict[int, int] = {}
    for product_id, quantity in lines:
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not isinstance(product_id, int)
            or quantity < 0
        ):
            raise InvalidCart("A quantity in your cart is not valid.")
        if quantity:
            quantities[product_id] = quantities.get(product_id, 0) + quantity
    if not quantities:
        raise EmptyCart()
    if any(q > MAX_QUANTITY for q in quantities.values()):
        raise InvalidCart(f"At most {MAX_QUANTITY} of each product, please.")
    products = products_by_id(session, quantities)
    if len(products) != len(quantities):
        raise InvalidCart("A product in your cart is no longer sold.")
    cart = price((products[pid], quantities[pid]) for pid in sorted(quantities))
    short = [line.sku for line in cart.lines if line.stock < line.quantity]
    if short:
        raise OutOfStock(short)
    return cart


def _pending_order(session: Session, token: str) -> Order | None:
    order = session.scalars(sa.select(Order).where(Order.token == token)).one_or_none()
    if order is None or order.state != OrderState.PENDING:
        return None
    return order


def _purchase_state(client: AvardaClient, purchase_id: str) -> PurchaseState | Unrecognized | None:
    """Avarda's state of a purchase we are about to reuse; None if Avarda is unreachable
    (then reuse it anyway: the form will tell the customer if it cannot be shown)."""
    try:
        return client.get_payment_status(purchase_id).state
    except AvardaError as exc:
        log.warning("GetPaymentStatus before reuse failed: %s", exc)
        return None


def _lines_for(cart: PricedCart) -> list[OrderLine]:
    return [
        OrderLine(
            product_id=li.product_id,
            sku=li.sku,
            name=li.name,
            quantity=li.quantity,
            unit_price_minor=li.unit_price_minor,
            vat_percent=li.vat_percent,
            line_total_minor=li.total_minor,
            vat_minor=li.vat_minor,
        )
        for li in cart.lines
    ]


def _replace_lines(
    session: Session, order_id: int, purchase_id: str, cart: PricedCart
) -> Order | None:
    """Store the updated cart on the order, if it is still the pending order of that
    purchase (a confirm step may have finished it meanwhile: then start anew)."""
    with write_transaction(session):
        order = lock_order(session, order_id)
        if order.state != OrderState.PENDING or order.purchase_id != purchase_id:
            return None
        order.lines = _lines_for(cart)
        order.total_minor = cart.total_minor
        order.vat_minor = cart.vat_minor
        order.cart_fingerprint = cart.fingerprint
    return order


def _new_order(
    session: Session, client: AvardaClient, cart: PricedCart, language: Language
) -> CheckoutSession:
    """InitializePayment first, then one insert: no order without a purchase.

    The order number goes to Avarda (``OrderReference``) before the insert can find it
    taken, so a taken number means starting again: a new number and a new purchase,
    at most ``NUMBER_ATTEMPTS`` times. The purchase of a discarded attempt belongs to
    no order; nobody is shown its form, and Avarda times it out.
    """
    for _ in range(NUMBER_ATTEMPTS):
        number = new_order_number()
        purchase_id = _initialize_payment(client, cart, number, language)
        order = _insert_order(session, cart, number, purchase_id)
        if order is not None:
            log.info("order %s created with purchase %s", number, purchase_id)
            return _session(order)
        log.warning("order number %s is taken; starting again with a new one", number)
    log.error("order number taken %d times in a row; giving up", NUMBER_ATTEMPTS)
    raise CheckoutUnavailable()


def _initialize_payment(
    client: AvardaClient, cart: PricedCart, number: str, language: Language
) -> str:
    try:
        return client.initialize_payment(
            InitializePayment(
                price=minor_to_decimal(cart.total_minor),
                items=avarda_items(cart),
                order_reference=number,
                user_language_code=language,
            )
        )
    except AvardaUnavailable as exc:
        raise CheckoutUnavailable() from exc
    except AvardaError as exc:
        log.error("InitializePayment failed: %s", exc)
        raise CheckoutUnavailable() from exc


def _insert_order(
    session: Session, cart: PricedCart, number: str, purchase_id: str
) -> Order | None:
    """The new pending order, or None when its number is taken."""
    try:
        with write_transaction(session):
            order = Order(
                token=new_token(),
                number=number,
                state=OrderState.PENDING,
                total_minor=cart.total_minor,
                vat_minor=cart.vat_minor,
                purchase_id=purchase_id,
                cart_fingerprint=cart.fingerprint,
                lines=_lines_for(cart),
            )
            session.add(order)
    except IntegrityError:
        # Asked, not parsed from the error: the same on every database.
        taken = session.scalar(sa.select(Order.id).where(Order.number == number))
        end_read(session)
        if taken is None:
            raise
        return None
    return order


def _session(order: Order, reused: bool = False, completed: bool = False) -> CheckoutSession:
    assert order.purchase_id is not None
    return CheckoutSession(
        order_token=order.token,
        purchase_id=order.purchase_id,
        order_number=order.number,
        total_minor=order.total_minor,
        vat_minor=order.vat_minor,
        currency=order.currency,
        reused=reused,
        completed=completed,
    )
