"""The notices the bot sends outside digests, written from their facts in the chat's language when
they go out. Pure."""

from __future__ import annotations

from html import escape

from bot.core.domain import PendingNotice
from bot.render.i18n import tr


def render_feed_failing(notice: PendingNotice, lang: str) -> str:
    """That a feed has failed for days, with the reason (Telegram HTML)."""
    return tr(
        lang,
        "The feed {feed} has failed since {since}: {reason}. feedwatch keeps trying it, at "
        "most once a day; /feeds shows its health.",
        feed=escape(notice.feed_name),
        since=notice.since.strftime("%Y-%m-%d %H:%M") + " UTC",
        reason=escape(notice.reason),
    )
