"""Channel row journal: a chunk's results, kept until they are written to its sends

The send loop hands the next chunk to the provider in the transaction that journals the previous
chunk's results on its channel row (one row written, not a chunk of sends), then writes those
results to the sends and clears the journal while the next chunk is out. A loop that dies in
between leaves the journal; the row's next loop writes it first.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "campaign_channels",
        sa.Column("journal", sa.Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=True),
    )


def downgrade():
    op.drop_column("campaign_channels", "journal")
