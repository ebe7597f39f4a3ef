"""Bulk actions on subscribers

``bulk_actions``: one row per action on a selection or on every match of a search or segment
(add to / remove from a list, unsubscribe, suppress, delete), with its progress and checkpoint.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "bulk_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("target_list_id", sa.Integer(), nullable=True),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("total", BigId, nullable=False),
        sa.Column("processed", BigId, nullable=False),
        sa.Column("changed", BigId, nullable=False),
        sa.Column("last_id", BigId, nullable=False),
        sa.Column("end_id", BigId, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["target_list_id"],
            ["lists.id"],
            name="fk_bulk_actions_target_list_id_lists",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name="fk_bulk_actions_created_by_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bulk_actions"),
        sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table("bulk_actions")
