"""articles.entry_digest: a digest of the feed entry an article was normalized from

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 23:05:00

A poll of a changed feed looks up its entries' stored rows before normalizing them; an entry whose raw
fields hash to the stored digest is known unchanged without cleaning its HTML and hashing its text again.
Rows stored before this revision have no digest (NULL): their next unchanged poll fills it in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("entry_digest", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("entry_digest")
