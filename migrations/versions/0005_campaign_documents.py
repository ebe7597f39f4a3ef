"""Campaign documents: per-audience template overrides

A campaign document (POST /api/v1/campaigns) may give a segment its own template. The audience
row keeps the template and a copy of its content taken when the campaign is created (like the
campaign's own copy), and each send records the audience it was chosen from at launch, so the
channel worker renders it with that audience's template.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")


def upgrade():
    with op.batch_alter_table("campaign_audiences") as batch:
        batch.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("html", LongText, nullable=True))
        batch.add_column(sa.Column("text", LongText, nullable=True))
        batch.create_foreign_key(
            "fk_campaign_audiences_template_id_templates",
            "templates",
            ["template_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # No foreign key (like subscriber_id): sends are bulk-written and outlive edits.
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("audience_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("audience_id")
    with op.batch_alter_table("campaign_audiences") as batch:
        batch.drop_constraint("fk_campaign_audiences_template_id_templates", type_="foreignkey")
        batch.drop_column("text")
        batch.drop_column("html")
        batch.drop_column("template_id")
