"""Kept for the sandbox suite's imports: everything here now lives in :mod:`tests.harness`."""

from tests.harness import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    CHROMIUM_MISSING,
    IN_CI,
    ROOT,
    Process,
    chromium_available,
    free_port,
    postgres_database,
    serve_wsgi,
    skip_or_fail,
    wait_until,
)
