"""Hit counts drawn as a PNG line chart, one line per watchlist, sized to be read on a phone.

An adapter around matplotlib: it draws a `bot.trends.stats.HitCounts` and nothing else, so the numbers in
the picture are the numbers counted. Only the object API (a `Figure` of its own per chart, drawn by
the Agg canvas) is used, never pyplot's global figures; drawing is CPU work, for a worker thread.
"""

from __future__ import annotations

import io
import logging
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from bot.trends.stats import HitCounts, Window

# matplotlib (and numpy under it) take a third of a second to import: only a chart imports them,
# not every start of the bot or of a command that draws nothing.
if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

log = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 1080, 720, 150
TEXT_SIZE = 17
"""Points for the axes, ticks and legend: a phone shows the 1080-pixel image at about a third of
its size, where 11 points (the old size) read as 7-pixel letters; 17 points read as 11."""
"""The picture's size in pixels, and the dots per inch its text sizes are set for: text of 12 points
is 25 pixels high, still legible when a phone shows the picture a third of its size."""

FONT_FAMILY = "DejaVu Sans"
"""Every text of a chart is set in this font: matplotlib ships it (always there, whatever the host
has), and it covers Latin and Cyrillic, the Ukrainian letters Є І Ї Ґ included."""

MAX_SERIES = 6
"""Lines on one chart at most: the lists with the most hits, the rest summed into the last line."""

MAX_TICKS = 8
"""Labels along the x axis at most: more crowd each other on a phone."""

LEGEND_CUT = 30
"""Characters of a title shown in a legend of two columns (twice as many in one): half the width."""

REPLACEMENT = "?"
"""What a character the font lacks is drawn as (matplotlib would draw an empty box and warn)."""

DAY = "%d.%m.%Y"
HOUR = "%d.%m.%Y %H:%M"

# matplotlib says it is not thread-safe beyond one figure per thread: fonts, caches and settings
# are shared. Charts are drawn one at a time; each takes a tenth of a second.
_DRAWING = threading.Lock()


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: its legend label, the watchlists it counts (one, or the rest summed)
    and its value in each bucket of the window, oldest first."""

    label: str
    watchlists: tuple[str, ...]
    values: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True, slots=True)
class Chart:
    """A drawn chart: the PNG, its size in pixels, and the lines drawn, from `counts`."""

    png: bytes
    width: int
    height: int
    series: tuple[Series, ...]
    counts: HitCounts


# --- the font ---------------------------------------------------------------------------------


@cache
def font_file() -> str:
    """The file matplotlib resolves `FONT_FAMILY` to. Raises ValueError if it is not installed,
    rather than falling back to another font silently."""
    from matplotlib.font_manager import FontProperties, findfont

    return str(findfont(FontProperties(family=[FONT_FAMILY]), fallback_to_default=False))


@cache
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


def missing_glyphs(text: str, path: str | None = None) -> str:
    """The characters of `text` the font file `path` (the chart's font by default) has no glyph
    for, each once, in order of appearance. Control characters (line breaks) are not drawn and
    are never missing."""
    covered = _charmap(path or font_file())
    missing = dict.fromkeys(
        char for char in text if ord(char) not in covered and unicodedata.category(char) != "Cc"
    )
    return "".join(missing)


def drawable(text: str, path: str | None = None) -> str:
    """`text` with each character the font lacks replaced by `REPLACEMENT`."""
    missing = missing_glyphs(text, path)
    if not missing:
        return text
    log.warning("the chart font has no glyph for %r: drawn as %r", missing, REPLACEMENT)
    return "".join(REPLACEMENT if char in missing else char for char in text)


# --- what is drawn ----------------------------------------------------------------------------


def series_of(
    counts: HitCounts,
    titles: Mapping[str, str] | None = None,
    *,
    others: Callable[[int], str] = lambda count: f"{count} other lists",
    most: int = MAX_SERIES,
) -> tuple[Series, ...]:
    """The lines to draw: one per watchlist (labelled with its title from `titles`, else its name)
    by most hits first, names breaking ties; beyond `most` lines, the last one sums the rest and is
    labelled `others(how many lists)`."""
    titles = titles or {}
    columns = {
        name: tuple(row[index] for row in counts.counts)
        for index, name in enumerate(counts.watchlists)
    }
    order = sorted(counts.watchlists, key=lambda name: (-counts.total_of(name), name))
    shown = order if len(order) <= most else order[: most - 1]
    lines = [Series(titles.get(name) or name, (name,), columns[name]) for name in shown]
    rest = order[len(shown) :]
    if rest:
        summed = tuple(sum(values) for values in zip(*(columns[n] for n in rest), strict=True))
        lines.append(Series(others(len(rest)), tuple(rest), summed))
    return tuple(lines)


def bucket_label(start: datetime, window: Window) -> str:
    """A bucket as captions name it: its day, or its day and hour."""
    return start.strftime(DAY if window.bucket == "day" else HOUR)


def period(window: Window) -> tuple[str, str]:
    """The first and the last day of a window of days; the start and the end of one of hours."""
    if window.bucket == "day":
        return window.starts[0].strftime(DAY), window.starts[-1].strftime(DAY)
    return window.start.strftime(HOUR), window.end.strftime(HOUR)


def _ticks(window: Window) -> tuple[list[int], list[str]]:
    """Where the x axis is labelled (bucket indexes) and with what: every day, or every few days,
    day.month; every few hours, the day under the first hour shown of each day."""
    starts = window.starts
    if window.bucket == "day":
        step = -(-len(starts) // MAX_TICKS)
        # Counted back from today, so that the newest day is always labelled.
        positions = list(range(len(starts) - 1, -1, -step))[::-1]
        return positions, [starts[i].strftime("%d.%m") for i in positions]
    step = next(s for s in (1, 2, 3, 4, 6, 8, 12, 24) if len(starts) / s <= MAX_TICKS)
    positions = [i for i, start in enumerate(starts) if start.hour % step == 0]
    labels, last_day = [], None
    for i in positions:
        day = starts[i].date()
        labels.append(starts[i].strftime("%H:%M" if day == last_day else "%H:%M\n%d.%m"))
        last_day = day
    return positions, labels


def _legend_label(text: str, font: str) -> str:
    # matplotlib leaves a label that starts with "_" out of the legend, and a list may be named so:
    # a word joiner in front (invisible, and in the font) keeps it in.
    text = drawable(text, font)
    return "\u2060" + text if text.startswith("_") else text


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def figure(
    counts: HitCounts,
    series: tuple[Series, ...],
    *,
    heading: str,
    ylabel: str = "hits",
) -> Figure:
    """The chart as a matplotlib `Figure` (of its own, on an Agg canvas): a line per series against
    the window's buckets, labelled in the window's time zone, the y axis in whole hits."""
    font = font_file()

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    def prop(size: float, weight: str = "normal") -> FontProperties:
        return FontProperties(fname=font, size=size, weight=weight)

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = list(range(len(counts.window.starts)))
    hourly = counts.window.bucket == "hour"
    # Below the chart, in two columns when there are more than three lines: long titles are cut.
    columns = 2 if len(series) > 3 else 1
    longest = LEGEND_CUT if columns == 2 else 2 * LEGEND_CUT
    for line in series:
        ax.plot(
            x,
            line.values,
            label=_legend_label(f"{_cut(line.label, longest)} ({line.total})", font),
            linewidth=4,
            # Hours hold a hit or two: steps read as counts, where a line would draw spikes.
            drawstyle="steps-mid" if hourly else "default",
            marker=None if hourly or len(x) > 31 else "o",
            markersize=8,
        )
    if heading:  # a chart saved to a file has its title; in a chat the caption is the title
        ax.set_title(
            drawable(heading, font), fontproperties=prop(TEXT_SIZE + 2, "bold"), parse_math=False
        )
    ax.set_ylabel(drawable(ylabel, font), fontproperties=prop(TEXT_SIZE), parse_math=False)
    positions, labels = _ticks(counts.window)
    ax.set_xticks(positions, labels)
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    top = max((max(line.values, default=0) for line in series), default=0)
    ax.set_ylim(0, max(top, 1) * 1.08)
    ax.tick_params(labelsize=TEXT_SIZE, labelfontfamily=FONT_FAMILY)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    if series:
        legend = fig.legend(
            loc="outside lower center", ncols=columns, prop=prop(TEXT_SIZE), frameon=False
        )
        for text in legend.get_texts():
            text.set_parse_math(False)  # a "$" in a title is a dollar, not TeX
    return fig


def draw(
    counts: HitCounts,
    titles: Mapping[str, str] | None = None,
    *,
    heading: str,
    ylabel: str = "hits",
    others: Callable[[int], str] = lambda count: f"{count} other lists",
) -> Chart:
    """`counts` as a PNG of `WIDTH` × `HEIGHT` pixels, with the lines it shows."""
    series = series_of(counts, titles, others=others)
    with _DRAWING:
        fig = figure(counts, series, heading=heading, ylabel=ylabel)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return Chart(out.getvalue(), WIDTH, HEIGHT, series, counts)
