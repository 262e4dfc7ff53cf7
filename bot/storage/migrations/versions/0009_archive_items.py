"""items read on a feed's first poll that were already older than the archive age are marked:
digests hold them apart as the feed's archive, /hits marks them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Items stored before are not marked: they were delivered as new, and stay so.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.add_column(
            sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.drop_column("archived")
