"""Signup forms, double opt-in settings per list, and consent records

New tables only (``subscribers.status`` is a string column: "unconfirmed" needs no change).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "signup_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("intro", sa.Text(), nullable=False),
        sa.Column("lists", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("ask_name", sa.Boolean(), nullable=False),
        sa.Column("thank_you_url", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signup_forms"),
        sa.UniqueConstraint("public_id", name="uq_signup_forms_public_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "list_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("double_opt_in", sa.Boolean(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name="fk_list_confirmations_list_id_lists",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name="fk_list_confirmations_channel_id_channels",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name="fk_list_confirmations_identity_id_identities",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_list_confirmations"),
        sa.UniqueConstraint("list_id", name="uq_list_confirmations_list_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "consents",
        sa.Column("id", BigId, nullable=False),
        sa.Column("subscriber_id", BigId, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=True),
        sa.Column("form_name", sa.String(200), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("request_ip", sa.String(45), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("confirm_ip", sa.String(45), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name="fk_consents_subscriber_id_subscribers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["signup_forms.id"],
            name="fk_consents_form_id_signup_forms",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_consents_subscriber_id", "consents", ["subscriber_id"])


def downgrade():
    op.drop_index("ix_consents_subscriber_id", table_name="consents")
    op.drop_table("consents")
    op.drop_table("list_confirmations")
    op.drop_table("signup_forms")
