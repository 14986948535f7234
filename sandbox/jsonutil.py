"""JSON with exact money: Decimals are written as JSON numbers with their own digits.

The standard encoder cannot write a Decimal as a number (Flask's default writes a string),
and converting to float would lose exactness. Incoming JSON numbers with a fraction are
parsed as Decimal for the same reason; a float is refused on the way out (a bug: money
never goes through a float here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask.json.provider import JSONProvider


def dumps(obj: Any) -> str:
    if obj is None or isinstance(obj, bool | int | str):
        return json.dumps(obj)
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError("cannot encode a non-finite Decimal")
        return f"{obj:f}"
    if isinstance(obj, datetime | date):
        return json.dumps(obj.isoformat())
    if isinstance(obj, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ", ".join(dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


class DecimalJSONProvider(JSONProvider):
    """Flask JSON provider using :func:`dumps` and :func:`loads`."""

    mimetype = "application/json"

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps(obj)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
