"""Import column mapping: remembered mappings, an import's mapping, typed list attributes

``import_mappings``: the mapping chosen for a header, offered again for the next file with
the same header; ``imports.mapping``: the mapping an import runs with (NULL: fields matched
by name, as before); ``lists.attribute_types``: attribute name -> number, date or bool.
Nullable columns only: nothing is rewritten.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("imports", sa.Column("mapping", sa.JSON(), nullable=True))
    op.add_column("lists", sa.Column("attribute_types", sa.JSON(), nullable=True))
    op.create_table(
        "import_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("header_hash", sa.String(length=64), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_mappings"),
        sa.UniqueConstraint("header_hash", name="uq_import_mappings_header_hash"),
        sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table("import_mappings")
    with op.batch_alter_table("lists") as batch:
        batch.drop_column("attribute_types")
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("mapping")
