"""spike alerts: the chat setting, the alerts sent, items by the time they were seen

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat") as batch:
        batch.add_column(
            sa.Column("spike_alerts", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_item_seen_at", "item", ["seen_at"], unique=False)
    op.create_table(
        "spike_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("spread", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["watchlist_id"], ["watchlist.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "watchlist_id", "hour", name="uq_spike_alert_chat_list_hour"),
    )
    op.create_index(
        "ix_spike_alert_watchlist_id", "spike_alert", ["watchlist_id"], unique=False
    )
    op.create_index("ix_spike_alert_pending", "spike_alert", ["sent_at", "outcome"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_spike_alert_pending", table_name="spike_alert")
    op.drop_index("ix_spike_alert_watchlist_id", table_name="spike_alert")
    op.drop_table("spike_alert")
    op.drop_index("ix_item_seen_at", table_name="item")
    with op.batch_alter_table("chat") as batch:
        batch.drop_column("spike_alerts")
