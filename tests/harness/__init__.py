"""The test harness: one :class:`Stack`, one config factory (:class:`Settings`), helpers.

Fixtures live in the ``conftest.py`` files and use these; test modules import from here,
never from a conftest.

- :mod:`~tests.harness.settings`: the one config factory, and the fixed test credentials.
- :mod:`~tests.harness.stack`: :class:`Stack` (the Procfile's processes, in-process twins of
  both apps, what a test does with them) and :class:`StackPool` (stacks kept running for a
  session, reset between tests).
- :mod:`~tests.harness.postgres`: a fresh PostgreSQL database per test, on
  ``TEST_DATABASE_URL`` or on a throwaway server started from the installed binaries.
- :mod:`~tests.harness.shop_apps`: in-process shops on fresh, set-up databases (copies of
  one migrated per session: milliseconds instead of a second).
- :mod:`~tests.harness.storefront`: the Flask test client's customer and admin helpers.
- :mod:`~tests.harness.common`: polls with deadlines, skips that fail in CI, Chromium.
"""

from tests.harness.common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CHROMIUM_MISSING,
    IN_CI,
    ROOT,
    chromium_available,
    free_port,
    serve_wsgi,
    skip_or_fail,
    wait_until,
)
from tests.harness.postgres import BOTH_DATABASES, POSTGRES_MISSING, postgres_database
from tests.harness.processes import Process, procfile
from tests.harness.settings import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CALLBACK_PASSWORD,
    CALLBACK_USERNAME,
    JWT_SECRET,
    SANDBOX_ADMIN,
    SITE_CODE,
    SITE_PASSWORD,
    UNREACHABLE_AVARDA,
    Settings,
    shop_config,
)
from tests.harness.shop_apps import (
    close_app,
    in_app,
    make_shop_app,
    shop_database,
    sqlite_shop_database,
)
from tests.harness.stack import CALLBACK_PATH, Stack, StackPool
from tests.harness.storefront import AuthActions, CartActions, csrf_token_from, flashes, text

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "AuthActions",
    "BOTH_DATABASES",
    "CALLBACK_PASSWORD",
    "CALLBACK_PATH",
    "CALLBACK_USERNAME",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "CHROMIUM_MISSING",
    "CartActions",
    "IN_CI",
    "JWT_SECRET",
    "POSTGRES_MISSING",
    "Process",
    "ROOT",
    "SANDBOX_ADMIN",
    "SITE_CODE",
    "SITE_PASSWORD",
    "Settings",
    "Stack",
    "StackPool",
    "UNREACHABLE_AVARDA",
    "chromium_available",
    "close_app",
    "csrf_token_from",
    "flashes",
    "free_port",
    "in_app",
    "make_shop_app",
    "postgres_database",
    "procfile",
    "serve_wsgi",
    "shop_config",
    "shop_database",
    "skip_or_fail",
    "sqlite_shop_database",
    "text",
    "wait_until",
]
