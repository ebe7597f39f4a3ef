"""Users: a session token in every session and remember cookie, rotated to end them all

``users.session_token`` is part of each user's session id (``User.get_id``): logout, a new
password or role give it a new random value, and every older session or remember cookie of
that user stops working. Existing users get a random token here, so sessions from before the
upgrade end once (their ids carry no token). Added in place (no table copy): on SQLite a copy
of ``users`` would go through its foreign keys. The empty server default only serves that.

Revision ID: 0010
Revises: 0009
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "users",
        sa.Column("session_token", sa.String(length=64), nullable=False, server_default=""),
    )
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(session_token=secrets.token_urlsafe(24))
        )


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_token")
