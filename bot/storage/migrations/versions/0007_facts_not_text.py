"""notices and spike alerts keep facts, not rendered text: they are written at send time, in the
chat's language of that moment

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

A notice or alert still unsent at the upgrade has only its old text, no facts: notices are
dropped and their feeds told again at their next failure; alerts expire.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE feed SET failure_notified_at = NULL WHERE failure_notified_at IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM notice WHERE notice.sent_at IS NULL)"
    )
    op.execute("DELETE FROM notice WHERE sent_at IS NULL")
    op.execute(
        "UPDATE spike_alert SET outcome = 'expired' WHERE outcome IS NULL AND sent_at IS NULL"
    )
    with op.batch_alter_table("notice") as batch:
        batch.add_column(sa.Column("feed_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("failing_since", sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            "fk_notice_feed_id_feed", "feed", ["feed_id"], ["id"], ondelete="CASCADE"
        )
        batch.drop_column("text")
    with op.batch_alter_table("spike_alert") as batch:
        batch.add_column(sa.Column("counted_from", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("counted_until", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("own_feeds", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.drop_column("text")


def downgrade() -> None:
    with op.batch_alter_table("spike_alert") as batch:
        batch.add_column(sa.Column("text", sa.Text(), nullable=False, server_default=""))
        batch.drop_column("own_feeds")
        batch.drop_column("counted_until")
        batch.drop_column("counted_from")
    with op.batch_alter_table("notice") as batch:
        batch.add_column(sa.Column("text", sa.Text(), nullable=False, server_default=""))
        batch.drop_constraint("fk_notice_feed_id_feed", type_="foreignkey")
        batch.drop_column("failing_since")
        batch.drop_column("reason")
        batch.drop_column("feed_id")
