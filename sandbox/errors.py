"""Exceptions raised by the sandbox's services; views turn them into Avarda's error shapes."""

from __future__ import annotations


class SandboxError(Exception):
    """Base class: ``message`` is safe to show to the caller."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFoundError(SandboxError):
    """No such purchase (or merchant) for this caller."""


class ForbiddenError(SandboxError):
    """The caller may not do this here (a page outside the merchant's allowed origins)."""


class StateError(SandboxError):
    """The operation is not allowed in the purchase's current state."""


class ValidationError(SandboxError):
    """Bad input; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]):
        super().__init__(" ".join(errors))
        self.errors = errors


class FieldErrors(ValidationError):
    """The checkout form's fields that need the customer's attention: ``fields`` maps a
    field's wire name (``Mail``) to why, ``"missing"`` or ``"wrong"``."""

    def __init__(self, errors: list[str], fields: dict[str, str]):
        super().__init__(errors)
        self.fields = fields


class CommerceError(SandboxError):
    """A Commerce call refused: ``errors`` holds (ErrorCode, ErrorMessage) pairs, Avarda's
    string codes, the first one being ``code`` and ``message``."""

    def __init__(self, code: str, message: str, more: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.code = code
        self.errors = [(code, message), *(more or [])]

    @classmethod
    def of(cls, errors: list[tuple[str, str]]) -> CommerceError:
        (code, message), *more = errors
        return cls(code, message, more)
