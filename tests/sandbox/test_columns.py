"""The lengths sandbox.validation checks are the lengths of the columns the values fill.

PostgreSQL refuses longer values (SQLite does not), so a drift would be a 500 on PostgreSQL
only. sandbox.validation cannot import the models (same layer); elsewhere the limits are
read from the columns themselves.
"""

from __future__ import annotations

from sandbox import validation
from sandbox.models import Purchase, PurchaseItem


def test_validation_limits_are_the_column_lengths():
    purchase = Purchase.__table__.c
    fields = validation.CUSTOMER_FIELDS | validation.OTHER_TEXT_FIELDS
    for wire, (column, limit) in fields.items():
        assert limit == purchase[column].type.length, wire
    item = PurchaseItem.__table__.c
    assert validation.ITEM_TEXT_MAX == item.description.type.length == item.notes.type.length
    assert validation.TAX_CODE_MAX == item.tax_code.type.length
