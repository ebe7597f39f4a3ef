"""Message links: the URLs of transactional mail, for click tracking

A transactional message's http(s) links point at /t/c/<message token>/<link id>; the click
route redirects only to a URL recorded here. One row per distinct URL (by sha256), shared by
all messages: no campaign to hang them on, and the same few URLs recur in every message.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "message_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_links")),
        sa.UniqueConstraint("url_hash", name=op.f("uq_message_links_url_hash")),
    )


def downgrade():
    op.drop_table("message_links")
