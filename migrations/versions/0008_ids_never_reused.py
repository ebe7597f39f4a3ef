"""Ids are never reused: SQLite tables get AUTOINCREMENT

Without it SQLite hands a deleted row's id (the highest) to the next row, and whatever still
pointed at the old id (a tracking token in a sent email, a Redis counter, a cache) reached the
new row. MariaDB and MySQL 8 keep their InnoDB counters across restarts, so only SQLite
changes. Each table is rebuilt in batch mode with its rows, indexes and constraints; the
migration runs with foreign keys off (migrations/env.py), so no cascade fires meanwhile.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _tables_with_integer_id(bind) -> list[str]:
    inspector = sa.inspect(bind)
    names = []
    for name in inspector.get_table_names():
        pk = inspector.get_pk_constraint(name)["constrained_columns"]
        if pk == ["id"]:
            names.append(name)
    return names


def _rebuild(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for name in _tables_with_integer_id(bind):
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
