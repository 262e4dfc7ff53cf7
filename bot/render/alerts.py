"""A spike alert's text: the watchlist, the hour's count against its usual, and a line per story
with its number of outlets, cut to one Telegram message. Pure."""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.render.digest import (
    TELEGRAM_TEXT_LIMIT,
    Format,
    shorten,
    source_label,
    visible_length,
)
from bot.render.i18n import ntr, tr
from bot.render.links import html_link, web_link
from bot.trends.spikes import SpikeStory


def _number(value: float) -> str:
    """A baseline as people read it: 2, 1.5 (never 1.4999999)."""
    return f"{round(value, 1):g}"


def render_alert(
    count: int,
    usual: float,
    title: str,
    stories: Sequence[SpikeStory],
    *,
    lang: str = "en",
    fmt: Format = "html",
    limit: int = TELEGRAM_TEXT_LIMIT,
) -> str:
    """The alert: the watchlist's title, the hour's `count` of hits against the `usual` (the
    baseline), and a line per story with the number of outlets, cut to `limit` visible characters
    with "…and N more stories"."""

    def esc(text: str) -> str:
        return html.escape(text, quote=False) if fmt == "html" else text

    heading = tr(lang, "Spike: {title}", title=title)
    lines = [
        f"<b>{esc(heading)}</b>" if fmt == "html" else heading,
        esc(
            ntr(
                lang,
                "{count} hit in the last hour; usually {usual} at this hour.",
                "{count} hits in the last hour; usually {usual} at this hour.",
                count,
                usual=_number(usual),
            )
        ),
    ]
    body: list[str] = []
    for story in stories:
        outlets = ntr(lang, "{count} outlet", "{count} outlets", story.outlets)
        name = shorten(story.title or story.link or tr(lang, "(untitled)"))
        link = web_link(story.link)
        headline = html_link(esc(name), link) if fmt == "html" else esc(name)
        line = f"• {headline} · {esc(outlets)}"
        if story.outlets > 1 and story.origin:
            # Where it began: often a channel, hours before the outlets.
            origin = source_label(story.origin, story.link)
            line += " · " + esc(tr(lang, "first: {source}", source=origin))
        if fmt == "text" and link:
            line += f"\n  {link}"
        body.append(line)
    # Lines join with "\n" and no tag spans two of them: lengths add up line by line.
    size = sum(visible_length(line, fmt) for line in lines) + len(lines) - 1
    shown = 0
    for index, line in enumerate(body):
        more = len(body) - index - 1
        tail = visible_length(_more(more, lang), fmt) + 1 if more else 0
        if size + 1 + visible_length(line, fmt) + tail > limit:
            break
        size += 1 + visible_length(line, fmt)
        shown += 1
    rest = len(body) - shown
    return "\n".join([*lines, *body[:shown], *([_more(rest, lang)] if rest else [])])


def _more(count: int, lang: str) -> str:
    return ntr(lang, "…and {count} more story", "…and {count} more stories", count)
