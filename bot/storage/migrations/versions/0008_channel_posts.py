"""items keep a channel post's facts: who it was forwarded from, its views, its kinds of media,
whether it was edited, its signature, and the channel post it cites; a channel counts the posts a
gap longer than the read-back depth left unread

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Items stored before have none of them: a feed's items never had any.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feed") as batch:
        batch.add_column(
            sa.Column("missed_posts", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("forwarded_from", sa.Text(), nullable=True))
        batch.add_column(sa.Column("views", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("media", sa.String(length=256), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("edited", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("author", sa.Text(), nullable=True))
        batch.add_column(sa.Column("cites", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item") as batch:
        for column in ("cites", "author", "edited", "media", "views", "forwarded_from"):
            batch.drop_column(column)
    with op.batch_alter_table("feed") as batch:
        batch.drop_column("missed_posts")
