"""Shared keys' fingerprint, archived campaign figures, and when transactional links were used

``installation``: values the whole installation shares (the fingerprint of the keys every host
must use, checked by /readyz). ``campaigns.archived_at``/``archived_figures``: a finished
campaign's report figures, kept before retention prunes its sends and events.
``message_links.used_at``: when a link was last written into a message (retention prunes links
unused for long); existing rows count as used now.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    op.add_column("campaigns", sa.Column("archived_at", sa.DateTime(), nullable=True))
    op.add_column("campaigns", sa.Column("archived_figures", sa.JSON(), nullable=True))
    op.add_column("message_links", sa.Column("used_at", sa.DateTime(), nullable=True))
    op.execute(sa.text("UPDATE message_links SET used_at = CURRENT_TIMESTAMP"))


def downgrade():
    with op.batch_alter_table("message_links") as batch:
        batch.drop_column("used_at")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("archived_figures")
        batch.drop_column("archived_at")
    op.drop_table("installation")
