"""E-mail addresses from outside (Avarda's ``Mail``): one recipient, or none.

Avarda's ``Mail`` is what the customer typed. A value such as ``a@x, victim@y`` handed to
an SMTP library as a ``To`` header sends the shop's e-mail to both; a newline adds
headers. So an address is used only when it is exactly one address by the rules of
email-validator (no display name, no quoting, no list, no control characters), checked
for syntax only: the shop must not wait on DNS while it pays an order.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

#: RFC 5321's limit for a whole address.
ADDRESS_MAX = 254


def single_recipient(value: str | None) -> str | None:
    """``value`` normalised if it is exactly one usable e-mail address, else None."""
    if not value or len(value) > ADDRESS_MAX:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None
