"""Databases put back as they were: faster than migrating a new one for every test."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool


class DatabaseSnapshot:
    """Every row of a database at one moment (after setup), to put back between tests.

    Processes that serve the database keep their connections and simply find it as it was
    after ``make run``'s setup. Identity sequences (PostgreSQL) and ``sqlite_sequence``
    restart too, so ids are those of a fresh database. Alembic's version table is left as
    it is: the schema never changes between tests.
    """

    def __init__(self, url: str) -> None:
        # SQLite: wait for a server process's write instead of failing at once.
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine = sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
        metadata = sa.MetaData()
        metadata.reflect(self.engine)
        self.tables = [t for t in metadata.sorted_tables if t.name != "alembic_version"]
        with self.engine.connect() as conn:
            self.rows: dict[str, list[dict[str, Any]]] = {
                t.name: [dict(row._mapping) for row in conn.execute(t.select())]
                for t in self.tables
            }
            self.sequences: list[tuple[str, str, str]] = []
            if self.engine.dialect.name == "postgresql":
                for table in self.tables:
                    for column in table.columns:
                        sequence = conn.scalar(
                            sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                            {"t": f'"{table.name}"', "c": column.name},
                        )
                        if sequence:
                            self.sequences.append((sequence, table.name, column.name))
            self.sqlite_sequence = self.engine.dialect.name == "sqlite" and bool(
                conn.scalar(
                    sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")
                )
            )

    def restore(self) -> None:
        with self.engine.begin() as conn:
            for table in reversed(self.tables):
                conn.execute(table.delete())
            if self.sqlite_sequence:
                conn.execute(sa.text("DELETE FROM sqlite_sequence"))
            for table in self.tables:
                if self.rows[table.name]:
                    conn.execute(table.insert(), self.rows[table.name])
            for sequence, table_name, column in self.sequences:
                conn.execute(
                    sa.text(
                        f'SELECT setval(:s, coalesce((SELECT max("{column}") '
                        f'FROM "{table_name}"), 0) + 1, false)'
                    ),
                    {"s": sequence},
                )

    def close(self) -> None:
        self.engine.dispose()
