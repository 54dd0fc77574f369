"""sources.item_digests: digests of the raw items of a feed's last processed document

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 23:55:00

A changed feed is parsed for its new items only: an item whose raw bytes hash to one of the last
document's is not read again. Concatenated 16-byte blake2b digests; NULL until a document is processed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("item_digests", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("item_digests")
