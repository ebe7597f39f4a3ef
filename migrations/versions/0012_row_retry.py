"""Channel rows retry by themselves after a burst of provider errors

``campaign_channels.retry_at``: when a row that paused itself is next tried with a few sends
(NULL: not paused by itself, or resumed); ``self_pauses``: how many times in a row it paused
itself (the cool-down doubles with each); ``resumed_at``: when it last resumed by itself.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("campaign_channels", sa.Column("retry_at", sa.DateTime(), nullable=True))
    op.add_column(
        "campaign_channels",
        sa.Column("self_pauses", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("campaign_channels", sa.Column("resumed_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("campaign_channels") as batch:
        batch.drop_column("resumed_at")
        batch.drop_column("self_pauses")
        batch.drop_column("retry_at")
