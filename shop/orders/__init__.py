"""The orders core: checkout, the confirm step, the sweep, and reading orders.

Framework-free, so that a shop written in another framework can copy it (an
import-linter contract keeps Flask out). How a core service is written — follow this
for new ones (for example the Commerce actions: deliver, return, refund, cancel):

- **Copyable.** The core (``avarda/``, ``orders/``, ``mail/``, ``catalog.py``,
  ``models.py``, ``transactions.py``, ``texts.py``) imports itself with relative imports
  (``from ..models import Order``) and, beside it, only ``common``: a porter copies it
  under any package name (``docs/integration-guide.md``, "What to copy"; a test runs
  that copy). A new core module joins the copy list there and in the import-linter
  contract that keeps the rest of the shop out of it.
- **Plain arguments.** The first arguments are a SQLAlchemy ``Session`` and, when it
  talks to Avarda, the Avarda client (``shop.avarda.AvardaClient``); settings come as
  keyword arguments with plain values (``shop_url=…``, ``min_age=…``). No
  ``current_app``, no ``db``, no request: the Flask glue (``shop.extensions``:
  ``db.session()``, ``avarda_client()``) lives in the views and CLI commands that call
  the service, and the app's settings are read there.
- **Owns its transactions.** Writes go through ``shop.transactions.write_transaction(
  session)`` (``BEGIN IMMEDIATE`` on SQLite, so writers queue instead of failing), an
  order is locked with ``lock_order(session, order_id)`` (``FOR UPDATE`` on PostgreSQL,
  fresh values via ``populate_existing``), and a read is ended with
  ``end_read(session)`` before any network call: no transaction stays open while Avarda
  or a mail server is asked.
- **Errors.** Database errors propagate (the caller rolls the session back and answers
  "try again"); Avarda's errors are caught and turned into an outcome or a
  ``shop.orders.errors`` exception whose message can be shown.
- **Text for people** (e-mails, timelines) is rendered from templates, not written in
  the service.

Modules: ``checkout.begin_checkout(session, client, lines, current_token, language=…)``;
``confirm.confirm_purchase(session, client, purchase_id, path, shop_url=…)``;
``sweep.sweep(session, client, min_age=…, shop_url=…)``; ``commerce`` (after payment:
``run_action(session, client, number, ActionRequest(...), admin_id=…, shop_url=…)`` to
deliver, return, refund, close or cancel through Avarda, ``retry_action``,
``check_with_avarda``, ``resend_confirmation``); ``callback_log`` (the notification log);
``queries`` (orders by token or purchase id, the status document, the timeline); ``errors``.
The catalogue and prices are in ``shop.catalog``, the outbox mailer in ``shop.mail``, the
back office's reads in ``shop.orders.backoffice`` (users: ``shop.orders.admins``).
"""
