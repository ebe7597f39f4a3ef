"""When a send failed: the failed-send review filters by it

``sends.failed_at``: when the send last failed or was found in doubt (NULL otherwise; a retry
clears it). Transactional messages filter by ``claimed_at``, their last attempt. A nullable
column is instant on MariaDB and SQLite: nothing is rewritten.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("sends", sa.Column("failed_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("failed_at")
