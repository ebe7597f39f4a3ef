"""How an email is written: visual editor, MJML code or HTML code

``templates`` and ``campaigns`` (a campaign's own content) gain ``editor`` (``visual``,
``mjml`` or ``html``), ``source`` (the MJML the HTML is compiled from) and ``design`` (the
visual editor's project data, to reopen a design exactly as left). ``html`` stays what is sent:
the compiled HTML, so nothing downstream changes. Existing rows are HTML-written.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")


def upgrade():
    for table in ("templates", "campaigns"):
        op.add_column(
            table, sa.Column("editor", sa.String(10), nullable=False, server_default="html")
        )
        op.add_column(table, sa.Column("source", LongText, nullable=True))
        op.add_column(table, sa.Column("design", LongText, nullable=True))


def downgrade():
    for table in ("templates", "campaigns"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("design")
            batch.drop_column("source")
            batch.drop_column("editor")
