"""Property tests of the answers' tolerance: whatever Avarda puts in ``State`` or
``PaymentMethod``, the client returns it (a member, or the raw value) and never raises;
a number means the same whether it comes as a JSON number or as text."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shop.avarda import PaymentMethod, PaymentStatus, PurchaseState, Unrecognized
from shop.avarda.protocol import RAW_LIMIT
from shop.avarda.wire import loads_strict

json_values = st.recursive(
    st.booleans() | st.integers() | st.text() | st.decimals(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def present(value: object) -> bool:
    """Not "no value": null and blank text mean the field was not given."""
    return not (isinstance(value, str) and not value.strip())


@given(json_values.filter(present), json_values)
def test_any_state_or_method_is_returned_never_raised(state, method):
    status = PaymentStatus.from_wire({"State": state, "PaymentMethod": method})
    assert isinstance(status.state, PurchaseState | Unrecognized)
    assert status.payment_method is None or isinstance(
        status.payment_method, PaymentMethod | Unrecognized
    )
    for value in (status.state, status.payment_method):
        if isinstance(value, Unrecognized):
            assert 0 < len(value.raw) <= RAW_LIMIT and value.raw.isprintable()


@given(st.sampled_from(list(PurchaseState)), st.sampled_from(list(PaymentMethod)))
def test_a_known_number_means_the_same_as_json_number_or_text(state, method):
    for wire_state, wire_method in (
        (int(state), int(method)),
        (str(int(state)), str(int(method))),
        (f"{int(state)}.0", f"{int(method)}.00"),
    ):
        body = json.dumps({"State": wire_state, "PaymentMethod": wire_method}).encode()
        status = PaymentStatus.from_wire(loads_strict(body))
        assert status.state is state and status.payment_method is method


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2))
def test_a_price_as_number_or_text_is_the_same_exact_amount(price):
    as_number = loads_strict(f'{{"State": 2, "Price": {price}}}'.encode())
    as_text = loads_strict(json.dumps({"State": 2, "Price": str(price)}).encode())
    assert PaymentStatus.from_wire(as_number).price == price
    assert PaymentStatus.from_wire(as_text).price == price
