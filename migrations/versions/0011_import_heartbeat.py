"""Imports: a heartbeat and an attempt count, so a tick can resume an import whose job died

``imports.heartbeat_at`` is set when a run starts and with each committed batch; a running
import without one for MAILER_IMPORT_STALL_SECONDS has lost its job. ``imports.attempts``
counts the runs; a run writes only while the count is still its own (a newer run fences it off).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("imports", sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    op.add_column(
        "imports", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade():
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("attempts")
        batch.drop_column("heartbeat_at")
