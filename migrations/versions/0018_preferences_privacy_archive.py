"""Preference centre, GDPR erasure and the public archive

``lists.public`` with a public name and description (the preference centre shows only those);
``campaigns.public`` (listed in /archive); ``erasures`` (who erased and when, never whom) and
``erased_addresses`` (keyed hashes: imports and the API refuse an erased address). Added
columns have server defaults: instant on MariaDB, no rewrite on SQLite.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "lists", sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "lists", sa.Column("public_name", sa.String(200), nullable=False, server_default="")
    )
    op.add_column(
        "lists",
        sa.Column("public_description", sa.String(500), nullable=False, server_default=""),
    )
    op.add_column(
        "campaigns", sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.Column("actor_kind", sa.String(10), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_api_key_id", sa.Integer(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name="fk_erasures_actor_user_id_users",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_api_key_id"],
            ["api_keys.id"],
            name="fk_erasures_actor_api_key_id_api_keys",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_erasures"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "erased_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erased_addresses"),
        sa.UniqueConstraint("address_hash", name="uq_erased_addresses_address_hash"),
        sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table("erased_addresses")
    op.drop_table("erasures")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("public")
    with op.batch_alter_table("lists") as batch:
        batch.drop_column("public_description")
        batch.drop_column("public_name")
        batch.drop_column("public")
