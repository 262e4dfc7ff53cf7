"""chat settings, a chat's own watchlists and feeds, forum topics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat") as batch:
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("quiet_start", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiet_end", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("managing_chat_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("watchlist") as batch:
        batch.alter_column(
            "name", existing_type=sa.String(length=64), type_=sa.String(length=100)
        )
        batch.add_column(sa.Column("owner_chat_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key(
            "fk_watchlist_owner_chat_id_chat", "chat", ["owner_chat_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_watchlist_owner_chat_id", ["owner_chat_id"], unique=False)
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(sa.Column("thread_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("thread_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "chat_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["feed_id"], ["feed.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "feed_id", name="uq_chat_feed"),
    )
    op.create_index("ix_chat_feed_feed_id", "chat_feed", ["feed_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_feed_feed_id", table_name="chat_feed")
    op.drop_table("chat_feed")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("thread_id")
    with op.batch_alter_table("subscription") as batch:
        batch.drop_column("thread_id")
    with op.batch_alter_table("watchlist") as batch:
        batch.drop_index("ix_watchlist_owner_chat_id")
        batch.drop_constraint("fk_watchlist_owner_chat_id_chat", type_="foreignkey")
        batch.drop_column("owner_chat_id")
        batch.alter_column(
            "name", existing_type=sa.String(length=100), type_=sa.String(length=64)
        )
    with op.batch_alter_table("chat") as batch:
        for column in (
            "managing_chat_id", "language", "quiet_end", "quiet_start", "timezone", "paused"
        ):
            batch.drop_column(column)
