"""Plumbing that the shop and the sandbox both use: database types and the SQLite recipe,
and the settings error.

Both apps may import this package; it imports neither of them, nor Flask (import-linter
checks both). What must stay independent on purpose is not here: the sandbox keeps its
own ``PurchaseState`` so that it checks the shop's client instead of sharing its mistakes.
"""
