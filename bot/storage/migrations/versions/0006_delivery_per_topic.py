"""an outbox row per chat, item and forum topic: an item goes to every topic whose list it hit;
forum topics' names

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

`thread_id` 0 stands for "no topic" (the chat itself): a unique key treats NULLs as distinct on
both SQLite and PostgreSQL, so NULL could not keep one row per chat and item.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE delivery SET thread_id = 0 WHERE thread_id IS NULL")
    with op.batch_alter_table("delivery") as batch:
        batch.alter_column(
            "thread_id", existing_type=sa.BigInteger(), nullable=False, server_default="0"
        )
        batch.drop_constraint("uq_delivery_chat_item", type_="unique")
        batch.create_unique_constraint(
            "uq_delivery_chat_item_thread", ["chat_id", "item_id", "thread_id"]
        )
    op.create_table(
        "forum_topic",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_id", "thread_id"),
    )


def downgrade() -> None:
    op.drop_table("forum_topic")
    # Rows of one item in several topics of a chat become one: the first topic's.
    op.execute(
        "DELETE FROM delivery WHERE id NOT IN "
        "(SELECT MIN(id) FROM delivery GROUP BY chat_id, item_id)"
    )
    with op.batch_alter_table("delivery") as batch:
        batch.drop_constraint("uq_delivery_chat_item_thread", type_="unique")
        batch.create_unique_constraint("uq_delivery_chat_item", ["chat_id", "item_id"])
        batch.alter_column(
            "thread_id", existing_type=sa.BigInteger(), nullable=True, server_default=None
        )
    op.execute("UPDATE delivery SET thread_id = NULL WHERE thread_id = 0")
