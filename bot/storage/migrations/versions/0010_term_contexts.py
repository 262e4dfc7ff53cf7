"""a watchlist keeps the contexts of its terms: the words a term needs near it, or refuses, and
within how many words

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Lists stored before have none: every term matches wherever it stands, as it did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("watchlist") as batch:
        batch.add_column(sa.Column("contexts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watchlist") as batch:
        batch.drop_column("contexts")
