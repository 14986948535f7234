"""Going to checkout: a pending order and its Avarda purchase.

``begin_checkout`` is called by the checkout page on every visit, including the
re-entry after a card or bank step (``callback=…&purchaseId=…``), so the common case
is cheap: the same cart and the same pending order give back the same purchase.

One purchase belongs to exactly one order, forever. When Avarda refuses to update a
purchase (the customer is at an external step, or it is finished) the shop starts a
new order with a new purchase instead of re-pointing the old order; the old order
stays pending until the confirm step or the sweep learns what became of its purchase,
so a payment made in another tab is never lost. The old order records which order
replaced it (``replaced_by_number``): if its purchase completes anyway, the confirm
step holds it for review (the customer may have paid twice) instead of paying it.

A changed cart is noted on the order before UpdateItems is sent and settled after
(:mod:`shop.orders.cart_change`), so an order is always paid with the lines Avarda
charged, even when the old cart is paid in another tab during the update.

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

from ..avarda import (
    AvardaClient,
    AvardaError,
    AvardaNotSent,
    AvardaRefused,
    AvardaUnavailable,
    InitializePayment,
    Item,
    Language,
    PurchaseState,
    Unrecognized,
    minor_to_decimal,
)
from ..catalog import MAX_QUANTITY, PricedCart, price, products_by_id
from ..models import Order, OrderState, new_order_number, new_token
from ..transactions import end_read, lock_order, write_transaction
from .cart_change import CartSnapshot
from .errors import CheckoutUnavailable, EmptyCart, InvalidCart, OutOfStock

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

    if existing is None or not existing.purchase_id:
        return _new_order(session, client, cart, language)
    purchase_id = existing.purchase_id
    sent = existing.cart_in_flight
    if sent is None and existing.cart_fingerprint == cart.fingerprint:
        state = _purchase_state(client, purchase_id)
        if state is None or not (isinstance(state, PurchaseState) and state.is_dead):
            return _session(existing, reused=True, completed=state == PurchaseState.COMPLETED)
    elif sent is None or sent.get("fingerprint") == cart.fingerprint:
        reused = _update_cart(session, client, existing, cart)
        if reused is not None:
            return reused
    # Avarda can no longer take this cart on this purchase (refused, dead, or an earlier
    # change's outcome is unknown): a new order, and the old one knows it was replaced.
    return _new_order(session, client, cart, language, replacing=existing.id)


def _update_cart(
    session: Session, client: AvardaClient, order: Order, cart: PricedCart
) -> CheckoutSession | None:
    """UpdateItems for the order's purchase, noted before and settled after.

    The session to show, or None when a new order must be started.
    """
    assert order.purchase_id is not None
    purchase_id, number = order.purchase_id, order.number
    if not _note_cart(session, order.id, purchase_id, CartSnapshot.of(cart)):
        return None
    try:
        client.update_items(
            purchase_id,
            price=minor_to_decimal(cart.total_minor),
            items=avarda_items(cart),
            order_reference=number,
        )
    except AvardaRefused:
        log.info("UpdateItems refused for order %s: new purchase", number)
        finished = _settle_cart(session, order.id, cart, applied=False)
        if finished is not None:
            return finished
        if _purchase_state(client, purchase_id) == PurchaseState.COMPLETED:
            # Paid in another tab a moment ago: show that order's result, not a new form.
            return _session(order, reused=True, completed=True)
        return None
    except AvardaNotSent as exc:
        _settle_cart(session, order.id, cart, applied=False)
        raise CheckoutUnavailable() from exc
    except AvardaError as exc:
        # Avarda may hold either cart now: the note stays for the confirm step.
        log.warning("UpdateItems for order %s: outcome unknown (%s)", number, exc)
        raise CheckoutUnavailable() from exc
    return _settle_cart(session, order.id, cart, applied=True)


def _note_cart(session: Session, order_id: int, purchase_id: str, sent: CartSnapshot) -> bool:
    """Write down the cart about to be sent; False if the order moved on meanwhile."""
    with write_transaction(session):
        order = lock_order(session, order_id)
        if order.state != OrderState.PENDING or order.purchase_id != purchase_id:
            return False
        noted = order.cart_in_flight
        if noted is not None and noted.get("fingerprint") != sent.fingerprint:
            return False
        order.cart_in_flight = sent.to_json()
    return True


def _settle_cart(
    session: Session, order_id: int, cart: PricedCart, *, applied: bool
) -> CheckoutSession | None:
    """After UpdateItems: the new lines if Avarda applied it, the old ones if not.

    Returns the session to show: the order itself when it is still pending (or was
    meanwhile paid or held, which the confirm step settled by Avarda's price), None
    when a new order must be started.
    """
    with write_transaction(session):
        order = lock_order(session, order_id)
        noted = order.cart_in_flight is not None and (
            order.cart_in_flight.get("fingerprint") == cart.fingerprint
        )
        if noted:
            order.cart_in_flight = None
        if order.state in (OrderState.PAID, OrderState.ON_HOLD):
            return _session(order, reused=True, completed=True)
        if order.state != OrderState.PENDING or not applied:
            return None
        if noted:
            CartSnapshot.of(cart).apply_to(order)
    return _session(order, reused=True)


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


def _new_order(
    session: Session,
    client: AvardaClient,
    cart: PricedCart,
    language: Language,
    *,
    replacing: int | None = None,
) -> CheckoutSession:
    """InitializePayment first, then one insert: no order without a purchase.

    The order number goes to Avarda (``OrderReference``) before the insert can find it
    taken, so a taken number means starting again: a new number and a new purchase,
    at most ``NUMBER_ATTEMPTS`` times. The purchase of a discarded attempt belongs to
    no order; nobody is shown its form, and Avarda times it out. ``replacing`` is the
    pending order this one replaces: it is marked so in the same transaction.
    """
    for _ in range(NUMBER_ATTEMPTS):
        number = new_order_number()
        purchase_id = _initialize_payment(client, cart, number, language)
        order = _insert_order(session, cart, number, purchase_id, replacing)
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
    session: Session, cart: PricedCart, number: str, purchase_id: str, replacing: int | None
) -> Order | None:
    """The new pending order, or None when its number is taken."""
    try:
        with write_transaction(session):
            if replacing is not None:
                old = lock_order(session, replacing)
                if old.state == OrderState.PENDING and old.replaced_by_number is None:
                    old.replaced_by_number = number
            order = Order(
                token=new_token(),
                number=number,
                state=OrderState.PENDING,
                total_minor=cart.total_minor,
                vat_minor=cart.vat_minor,
                purchase_id=purchase_id,
                cart_fingerprint=cart.fingerprint,
                lines=CartSnapshot.of(cart).order_lines(),
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
