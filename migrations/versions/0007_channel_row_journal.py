"""Channel row journal: the chunk with the provider, and the results of the one before

Before handing a chunk to the provider, the send loop commits one update of its channel row: the
chunk's send ids (``handed``) and the previous chunk's results (``journal``), one row written
instead of two chunks of sends. It writes those results to the sends, and clears the journal,
while the chunk is out. A loop that dies leaves both: the row's next loop writes the journal
and marks the handed sends in doubt. Sends are no longer marked "sending".

Also ``campaigns.materialised_at``: when the launch had written every send. A channel row does
not complete a campaign before (a row woken by the tick during a long launch did), and the tick
resumes a launch whose orchestrator died.

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
    op.add_column("campaigns", sa.Column("materialised_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE campaigns SET materialised_at = COALESCE(started_at, created_at) "
        "WHERE status IN ('running', 'paused', 'completed', 'cancelled', 'failed')"
    )
    op.add_column("campaign_channels", sa.Column("handed", sa.Text(), nullable=True))
    op.add_column(
        "campaign_channels",
        sa.Column("journal", sa.Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=True),
    )


def downgrade():
    op.drop_column("campaign_channels", "journal")
    op.drop_column("campaign_channels", "handed")
    op.drop_column("campaigns", "materialised_at")
