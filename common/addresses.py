"""E-mail addresses from outside (Avarda's ``Mail``): one recipient, or none.

Avarda's ``Mail`` is what the customer typed. A value such as ``a@x, victim@y`` handed to
an SMTP library as a ``To`` header sends the shop's e-mail to both; a newline adds
headers. So an address is used only when it is exactly one address by the rules of
email-validator (no display name, no quoting, no list, no control characters), checked
for syntax only: the shop must not wait on DNS while it pays an order.
"""

from __future__ import annotations

import re

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


#: ``Display Name <address>``: a name without quotes, brackets, commas or ``@``.
_NAMED = re.compile(r"\s*([^<>@,;\"]*?)\s*<([^<>\s]+)>\s*")


def one_mailbox(value: str | None) -> tuple[str, str] | None:
    """(display name, address) if ``value`` is one mailbox, a bare address or
    ``Name <address>``; None for anything else (a list, a newline, a bad address)."""
    if not value or "\r" in value or "\n" in value:
        return None
    address = single_recipient(value)
    if address is not None:
        return "", address
    named = _NAMED.fullmatch(value)
    if named is None:
        return None
    address = single_recipient(named.group(2))
    return None if address is None else (named.group(1), address)
