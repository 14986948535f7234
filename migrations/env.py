"""Alembic environment for the shop, run through Flask-Migrate inside an app context.

Unlike Flask-Migrate's template this does not call ``logging.config.fileConfig``:
migrations run inside the app (``shop.setup_database``) and must not replace the
app's logging configuration.

On SQLite, foreign keys are switched off while migrations run (SQLite's own recipe for
rebuilding a table): the shop's connections have them on, and a batch-mode rebuild drops
the old table, which would otherwise cascade-delete every row that refers to it (an
order's lines, events and e-mails). ``PRAGMA foreign_key_check`` runs before each
migration commits.
"""

import logging

from alembic import context
from flask import current_app

config = context.config
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


config.set_main_option(
    "sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
)
target_db = current_app.extensions["migrate"].db


def get_metadata():
    return target_db.metadata


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=get_metadata(),
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    with get_engine().connect() as connection:
        if connection.dialect.name != "sqlite":
            context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
            with context.begin_transaction():
                context.run_migrations()
            return

        _sqlite_foreign_keys(connection, "OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                on_version_apply=_check_foreign_keys,
                **conf_args,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if connection.in_transaction():
                connection.rollback()  # only a failed run leaves one open: undo it
            _sqlite_foreign_keys(connection, "ON")


def _sqlite_foreign_keys(connection, state):
    """Through the driver: the PRAGMA is ignored inside a transaction, and any statement
    sent through SQLAlchemy would begin one."""
    connection.connection.dbapi_connection.execute(f"PRAGMA foreign_keys = {state}")


def _check_foreign_keys(ctx, **_kw):
    """Run after each migration, inside its transaction: a broken reference undoes it."""
    broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
