"""Dialect-specific statements the bulk paths need, in one place (SQLite and MySQL/MariaDB)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, Table, func, literal_column, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import ColumnElement

from mailer.extensions import db

R = TypeVar("R")

# The largest values the columns hold on every database: ids are BIGINT (SQLite's INTEGER is
# 64-bit too), counts and quotas INT on MySQL/MariaDB. Input past them is refused where it is
# read: the driver raises for it (OverflowError on SQLite, "out of range" on MariaDB), a 500.
MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1


def parse_id(value: object) -> int | None:
    """A row id given as text (a form field, a query argument) or as a number; None when it
    can name no row: not plain digits, below 1, or past MAX_ID."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ID else None
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def dialect() -> str:
    return db.engine.dialect.name


def is_lock_conflict(exc: OperationalError) -> bool:
    """MySQL deadlock (1213) or lock wait timeout (1205); SQLite's "database is locked": the
    transaction was rolled back and may simply be run again."""
    args = getattr(exc.orig, "args", None) or ()
    return (bool(args) and args[0] in (1205, 1213)) or "database is locked" in str(exc.orig)


def commit_retrying(work: Callable[[], R], attempts: int = 5) -> R:
    """Run ``work`` and commit; a lock conflict (two workers updating the same index pages
    on MySQL) rolls back and runs it again, up to ``attempts`` times."""
    for attempt in range(1, attempts + 1):
        try:
            out = work()
            db.session.commit()
            return out
        except OperationalError as exc:
            db.session.rollback()
            if attempt == attempts or not is_lock_conflict(exc):
                raise
            time.sleep(0.02 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def begin_read_committed() -> None:
    """MySQL: end the session's transaction and begin the next one in READ COMMITTED (nothing
    elsewhere). Under REPEATABLE READ a locking read of a claim index also locks the gaps
    between its entries, and requests inserting new rows into those gaps deadlock with it."""
    if dialect() != "mysql":
        return
    db.session.commit()
    db.session.connection(execution_options={"isolation_level": "READ COMMITTED"})


def claim(
    table: Table,
    due: Select,
    values: Mapping[str, Any],
    *,
    increment: Sequence[str] = (),
    recheck: Sequence[ColumnElement] = (),
) -> list[int]:
    """Take the rows whose ids ``due`` selects (ordered and limited) for this transaction
    alone, setting ``values`` and adding 1 to the ``increment`` columns; their ids, in no
    particular order. Not committed.

    MySQL: ``SELECT … FOR UPDATE SKIP LOCKED`` (rows another worker holds are passed over,
    never waited for), then one UPDATE by id as driver SQL (see :func:`run_sql`). SQLite (one
    writer at a time): one ``UPDATE … WHERE id IN (due) [AND recheck] RETURNING id``."""
    if dialect() == "mysql":
        ids = list(db.session.scalars(due.with_for_update(skip_locked=True)))
        if ids:
            sets = [f"{name} = ?" for name in values] + [f"{n} = {n} + 1" for n in increment]
            run_sql(
                f"UPDATE {table.name} SET {', '.join(sets)} WHERE id IN ({id_list(ids)})",
                list(values.values()),
            )
        return ids
    bumped = {name: table.c[name] + 1 for name in increment}
    return list(
        db.session.scalars(
            update(table)
            .where(table.c.id.in_(due.scalar_subquery()), *recheck)
            .values(**values, **bumped)
            .returning(table.c.id)
        )
    )


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


class BulkInsert:
    """A batch INSERT (with the statement's ON CONFLICT / ON DUPLICATE KEY clause) for imports.

    Columns are `varying` (one value per row) or `fixed` (one value per batch: a list id,
    timestamps). `render(values)` prepares one row from its varying values and needs no
    connection, so a reading thread can do it while the writing thread waits on the database;
    `execute` sends rendered rows with the batch's fixed values.

    MySQL: rows become SQL literals, sent as multi-row INSERTs of up to STATEMENT_CHARS.
    mysqlclient's executemany makes the same statements but escapes value by value in Python
    and cuts them at 64 KiB, which made it the import's biggest CPU cost. SQLite: rows are
    parameter tuples for executemany. Values: str, int, float, bool, datetime or None.
    """

    STATEMENT_CHARS = 1 << 20

    def __init__(self, stmt, varying: Sequence[str], fixed: Sequence[str] = ()):
        columns = [*varying, *fixed]
        table = stmt.table
        prep = db.engine.dialect.identifier_preparer
        sql = str(stmt.compile(dialect=db.engine.dialect, column_keys=columns))
        # The compiled VALUES group holds placeholders only, so its first ")" closes it.
        head, values, rest = sql.partition(" VALUES (")
        if not values or not head.startswith("INSERT"):
            raise ValueError(f"not an INSERT … VALUES statement: {sql[:80]}")
        self.postfix = rest[rest.index(")") + 1 :]
        self.prefix = (
            f"INSERT INTO {prep.format_table(table)} "
            f"({', '.join(prep.quote(c) for c in columns)}) VALUES "
        )
        self.mysql = db.engine.dialect.name == "mysql"
        self.placeholders = "(" + ", ".join(["?"] * len(columns)) + ")"

    def render(self, values: tuple) -> str | tuple:
        """One row's varying values, ready for `execute` (thread-safe, no connection)."""
        if self.mysql:
            return "(" + ",".join([mysql_literal(v) for v in values])
        return values

    def execute(self, connection, rows: Sequence, fixed: tuple = ()) -> None:
        """Insert rendered rows inside the connection's transaction (begun if need be)."""
        if not rows:
            return
        if not self.mysql:
            sql = self.prefix + self.placeholders + self.postfix
            connection.exec_driver_sql(sql, [row + fixed for row in rows])
            return
        if not connection.in_transaction():
            connection.begin()
        tail = "".join("," + mysql_literal(v) for v in fixed) + ")"
        raw = connection.connection.dbapi_connection
        # The raw cursor: no %-formatting of the statement (a "%" in the data stays as is).
        with raw.cursor() as cursor:
            parts: list[str] = []
            size = 0
            for row in rows:
                parts.append(row + tail)
                size += len(row)
                if size >= self.STATEMENT_CHARS:
                    cursor.execute(self._statement(parts, raw.encoding))
                    parts, size = [], 0
            if parts:
                cursor.execute(self._statement(parts, raw.encoding))

    def _statement(self, parts: list[str], encoding: str) -> bytes:
        return (self.prefix + ",".join(parts) + self.postfix).encode(encoding)


def mysql_literal(value) -> str:
    """A MySQL/MariaDB literal that means the same with or without NO_BACKSLASH_ESCAPES.

    Text without quote, backslash or NUL is quoted as is; with a quote (O'Brien) the quote is
    doubled; with a backslash or NUL it becomes a UTF-8 hex literal. Nothing else can end or
    alter a quoted literal on a utf8mb4 connection (no multi-byte sequence holds 0x27/0x5c).
    """
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is str:
        if "'" in value or "\\" in value or "\0" in value:
            if "\\" in value or "\0" in value:
                return "_utf8mb4 X'" + value.encode().hex() + "'"
            return "'" + value.replace("'", "''") + "'"
        return "'" + value + "'"
    if kind is int:
        return str(value)
    if kind is bool:
        return "1" if value else "0"
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value} has no SQL literal")
        return repr(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return "'" + value.isoformat(" ") + "'"
    raise TypeError(f"no SQL literal for {kind.__name__} (datetimes must be naive UTC)")


def run_sql(sql: str, params: Sequence = ()):
    """Driver SQL with ``?`` placeholders (``%s`` on MySQL) in the session's transaction.

    For the send loop's per-chunk statements: building them through SQLAlchemy (an expanding
    IN of hundreds of ids, a CASE of hundreds of branches) cost more CPU than the database
    spent running them. Callers inline only integers (ids); everything else is a parameter.
    Datetimes are naive UTC; on SQLite they are stored the way SQLAlchemy stores them.
    """
    mysql_ = dialect() == "mysql"
    if mysql_:
        sql = sql.replace("?", "%s")
    else:
        params = [_sqlite_value(p) for p in params]
    return db.session.connection().exec_driver_sql(sql, tuple(params))


def id_list(ids: Sequence[int]) -> str:
    """``1,2,3`` for an ``IN (…)`` of integer ids (anything else raises)."""
    return ",".join([str(int(i)) for i in ids])


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


class OwnPoolStatement:
    """One precompiled statement on a small autocommit pool of its own: a hot path's one
    database round trip (MySQL; the click redirect's read, the API's single-message insert).

    Through the app's pool and session the same statement costs a pre-ping, the statement, a
    commit and a rollback when the connection goes back. Here a connection idle for more than
    ``PING_IDLE`` seconds is pinged when it is taken (what a restart or wait_timeout drops),
    values go through their bind parameters' own processors (JSON, dates), and a call that
    fails invalidates its connection: it never goes back to the pool in an unknown state.
    """

    PING_IDLE = 1.0

    def __init__(self, url, statement, *, pool_size: int, max_overflow: int) -> None:
        from sqlalchemy import create_engine, event
        from sqlalchemy.exc import DisconnectionError

        self.engine = engine = create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=False,
            pool_reset_on_return=None,
            pool_recycle=3600,
            pool_use_lifo=True,  # the busy few stay warm, the idle rest get pinged
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.order = [
            (name, compiled.binds[name].type.bind_processor(engine.dialect))
            for name in compiled.positiontup or ()
        ]
        self.errors = engine.dialect.loaded_dbapi.Error

        @event.listens_for(engine, "checkin")
        def _idle(dbapi_connection, record) -> None:
            record.info["idle_since"] = time.monotonic()

        @event.listens_for(engine, "checkout")
        def _ping_if_idle(dbapi_connection, record, proxy) -> None:
            since = record.info.pop("idle_since", None)
            if since is not None and time.monotonic() - since > self.PING_IDLE:
                try:
                    engine.dialect.do_ping(dbapi_connection)
                except self.errors:
                    raise DisconnectionError() from None  # the pool connects afresh

    def run(self, params: Mapping[str, Any]) -> tuple[int, int, tuple | None]:
        """(rows affected, the new row's id, the first row of a result, if any)."""
        args = tuple(
            params[name] if bind is None else bind(params[name]) for name, bind in self.order
        )
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(self.sql, args)
                row = cursor.fetchone() if cursor.description else None
                return cursor.rowcount, cursor.lastrowid, row
            finally:
                cursor.close()
        except self.errors:
            conn.invalidate()
            raise
        finally:
            conn.close()
