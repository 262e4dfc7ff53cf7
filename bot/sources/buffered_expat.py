"""The XML reader feedparser gets once `bot.sources.feedparser_tuning` is installed: expat with
`buffer_text` on, which reads a document expat rejects only once. A module of its own, imported at
the first parse: xml.sax.expatreader brings urllib.request and http.client with it, which a process
that parses nothing does without (start-up, issue 19)."""

from __future__ import annotations

from io import BytesIO
from typing import Any
from xml.sax.expatreader import ExpatParser
from xml.sax.xmlreader import InputSource

# Large enough that an article's text arrives in one or two calls, small enough to stay invisible.
BUFFER_SIZE = 64 * 1024

# The handlers through which expat hands a document's content to feedparser: a first reading
# that only looks for an error goes without them.
_CONTENT_HANDLERS = (
    "StartElementHandler",
    "EndElementHandler",
    "CharacterDataHandler",
    "ProcessingInstructionHandler",
    "StartNamespaceDeclHandler",
    "EndNamespaceDeclHandler",
    "CommentHandler",
    "StartCdataSectionHandler",
    "EndCdataSectionHandler",
)


class BufferedExpatParser(ExpatParser):
    """expat with `buffer_text` on: without it, expat hands over text a line or an entity at a
    time, and feedparser's Python handler ran about 12,000 times a feed on the bench corpus (a
    third of the parse time).

    A document is read twice, first by expat alone. feedparser throws away what its strict
    parser made of a document that turns out not to be well-formed, and reads it again with its
    loose parser; that first reading, through Python handlers up to the error, was 6–30% of the
    time feedparser took on such a document (the five of the bench corpus: 10% of their time in
    all). Now the error comes from expat alone, the same error at the same place (the same parser,
    set up the same way, on the same bytes), and a well-formed document costs one more pass in C."""

    _checking = False

    def parse(self, source: Any) -> None:
        stream = source.getByteStream() if isinstance(source, InputSource) else None
        if stream is None or source.getCharacterStream() is not None:
            super().parse(source)  # not how feedparser calls it: one reading as shipped
            return
        data = stream.read()
        self._checking = True
        try:
            super().parse(_with_bytes(source, data))  # raises as feedparser's reading would
        finally:
            self._checking = False
        super().parse(_with_bytes(source, data))

    def reset(self) -> None:
        super().reset()
        # reset() makes a new pyexpat parser each document; typeshed does not declare it.
        expat: Any = vars(self)["_parser"]
        if self._checking:
            for handler in _CONTENT_HANDLERS:
                setattr(expat, handler, None)
        expat.buffer_text = True
        expat.buffer_size = BUFFER_SIZE


def _with_bytes(source: InputSource, data: bytes) -> InputSource:
    """`source` again, its bytes in a stream of their own (a reading closes the stream it read)."""
    again = InputSource(source.getSystemId())
    again.setPublicId(source.getPublicId())
    again.setEncoding(source.getEncoding())
    again.setByteStream(BytesIO(data))
    return again
