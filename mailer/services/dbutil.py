"""Dialect-specific statements the bulk paths need, in one place (SQLite and MySQL/MariaDB)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, func, literal_column
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.sql import ColumnElement

from mailer.extensions import db


def dialect() -> str:
    return db.engine.dialect.name


def upsert(
    table: Table,
    conflict: Sequence[str],
    updates: Callable[[Any, Any], dict[str, ColumnElement]],
):
    """INSERT … ON CONFLICT / ON DUPLICATE KEY UPDATE for executemany.

    `updates(table, new)` returns {column: expression}; `new` refers to the row being inserted
    (`excluded` on SQLite, `VALUES()`/alias on MySQL).
    """
    if dialect() == "mysql":
        stmt = mysql.insert(table)
        return stmt.on_duplicate_key_update(updates(table.c, stmt.inserted))
    stmt = sqlite.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(conflict), set_=updates(table.c, stmt.excluded)
    )


def insert_ignore(table: Table, conflict: Sequence[str]):
    """INSERT that silently keeps the existing row on a unique-key conflict."""
    if dialect() == "mysql":
        stmt = mysql.insert(table)
        first = conflict[0]
        return stmt.on_duplicate_key_update({first: stmt.inserted[first]})
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))


def json_merge(old, new) -> ColumnElement:
    """Merge two JSON objects, keys of `new` winning (RFC 7396 merge patch)."""
    # A literal, not a bound parameter: MySQL's executemany rewrite needs one set per row.
    if dialect() == "mysql":
        return func.JSON_MERGE_PATCH(func.coalesce(old, func.JSON_OBJECT()), new)
    return func.json_patch(func.coalesce(old, literal_column("'{}'")), new)


class CompiledBulk:
    """A statement compiled once and run with executemany on plain tuples.

    Skips SQLAlchemy's per-row parameter processing, which costs more than the database's own
    work in a bulk import; callers pass values the driver takes as they are (str, int, float,
    datetime, None; JSON already serialised).
    """

    def __init__(self, stmt, keys: Sequence[str]):
        compiled = stmt.compile(dialect=db.engine.dialect, column_keys=list(keys))
        self.sql = str(compiled)
        self.order = compiled.positiontup

    def execute(self, rows: Sequence[dict], connection=None) -> None:
        order = self.order
        params = [tuple(row[k] for k in order) for row in rows]
        (connection or db.session.connection()).exec_driver_sql(self.sql, params)
