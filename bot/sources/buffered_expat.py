"""The XML reader feedparser gets once `bot.sources.feedparser_tuning` is installed: expat with
`buffer_text` on. A module of its own, imported at the first parse: xml.sax.expatreader brings
urllib.request and http.client with it, which a process that parses nothing does without
(start-up, issue 19)."""

from __future__ import annotations

from typing import Any
from xml.sax.expatreader import ExpatParser

# Large enough that an article's text arrives in one or two calls, small enough to stay invisible.
BUFFER_SIZE = 64 * 1024


class BufferedExpatParser(ExpatParser):
    """expat with `buffer_text` on: without it, expat hands over text a line or an entity at a
    time, and feedparser's Python handler ran about 12,000 times a feed on the bench corpus (a
    third of the parse time)."""

    def reset(self) -> None:
        super().reset()
        # reset() makes a new pyexpat parser each document; typeshed does not declare it.
        expat: Any = vars(self)["_parser"]
        expat.buffer_text = True
        expat.buffer_size = BUFFER_SIZE
