"""a watchlist may look only at some sources, or skip some, and read other fields of an item than
its title and summary; items keep their feed's categories

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Lists stored before look everywhere at titles and summaries, as they did; items stored before have
no categories.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("watchlist") as batch:
        batch.add_column(sa.Column("sources", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("skip_sources", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("fields", sa.JSON(), nullable=True))
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("categories", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.drop_column("categories")
    with op.batch_alter_table("watchlist") as batch:
        for column in ("fields", "skip_sources", "sources"):
            batch.drop_column(column)
