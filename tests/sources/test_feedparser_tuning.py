"""feedparser tuned (`bot.sources.feedparser_tuning`) returns exactly what feedparser as shipped returns: on
every document of the news and feedparser corpora, on a spread of the big bench documents, and on
generated text in every script, C1 controls included."""

from __future__ import annotations

import subprocess
import sys
import xml.sax
from html import escape
from pathlib import Path
from typing import Any

import feedparser
import feedparser.api
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.sources import feedparser_tuning
from bot.sources.buffered_expat import BufferedExpatParser
from tests.shared_corpus import CORPUS, corpus_documents, require_corpus

BENCH_SAMPLE_EVERY = 20  # 10 of the 200 bench documents: big, in several languages


def _documents(sub: str, every: int = 1) -> list[Any]:
    folder = CORPUS / sub
    files = corpus_documents(sub)
    if not files:
        return [pytest.param(sub, None, id=f"{sub}-missing")]
    return [
        pytest.param(sub, path, id=f"{sub}/{path.relative_to(folder).as_posix()}")
        for path in files[::every]
    ]


def _parsed(data: bytes) -> dict[str, Any]:
    result = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    # The exception objects differ by identity; their kind and message must not.
    exception = result.pop("bozo_exception", None)
    return {**result, "bozo_exception": repr(exception)}


def _both(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    feedparser_tuning.install()  # as the bot's composition root and parse workers do
    tuned = _parsed(data)
    with feedparser_tuning.uninstalled():
        shipped = _parsed(data)
    return tuned, shipped


def _reader() -> object:
    """The reader feedparser would get (nothing is parsed with it)."""
    return xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)  # noqa: S317


def test_feedparser_reads_through_the_buffered_reader() -> None:
    feedparser_tuning.install()  # a second call changes nothing
    assert feedparser.api.PREFERRED_XML_PARSERS.count(feedparser_tuning.__name__) == 1
    assert isinstance(_reader(), BufferedExpatParser)
    with feedparser_tuning.uninstalled():
        assert not isinstance(_reader(), BufferedExpatParser)
    assert isinstance(_reader(), BufferedExpatParser)


@pytest.mark.parametrize(
    ("sub", "path"),
    _documents("news") + _documents("feedparser") + _documents("bench", BENCH_SAMPLE_EVERY),
)
def test_tuned_feedparser_returns_what_feedparser_returns(sub: str, path: Path | None) -> None:
    require_corpus(sub)
    assert path is not None
    tuned, shipped = _both(path.read_bytes())
    assert tuned == shipped


# XML 1.0 allows these; the C1 block (0x80-0x9F) is where feedparser's windows-1252 mapping acts.
_XML_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\x00\ufffe\uffff",
        min_codepoint=0x09,
    ).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(title=_XML_TEXT, description=_XML_TEXT)
@example(title="\x80\x96\x9f \x81 – “Курск”", description="Бєлгородщина\x85 ü ǅ € ™")
def test_text_in_any_script_comes_out_the_same(title: str, description: str) -> None:
    document = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{escape(title)}</title><description>{escape(description)}</description>"
        "<guid>g</guid></item></channel></rss>"
    ).encode()
    tuned, shipped = _both(document)
    assert tuned == shipped
    assert tuned["entries"], tuned["bozo_exception"]


_MALFORMED_LATE = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Late</title>'
    + "".join(f"<item><title>Item {n}</title><guid>g{n}</guid></item>" for n in range(50))
    + "<item><title>Broken &colon; here</title></item></channel></rss>"
).encode()


def _strict_elements(monkeypatch: pytest.MonkeyPatch, data: bytes) -> tuple[int, Any]:
    """How many elements feedparser's strict parser was handed while it parsed `data` (tuned),
    and the result."""
    import feedparser.parsers.strict as strict

    calls = 0
    handler = strict._StrictFeedParser.startElementNS

    def counted(self: Any, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return handler(self, *args)

    monkeypatch.setattr(strict._StrictFeedParser, "startElementNS", counted)
    feedparser_tuning.install()
    result = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    monkeypatch.undo()
    return calls, result


def test_a_document_expat_rejects_is_read_by_the_loose_parser_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # feedparser throws away what its strict parser made of a document that is not well-formed;
    # the tuned reader finds the error before handing feedparser a single element.
    calls, tuned = _strict_elements(monkeypatch, _MALFORMED_LATE)
    assert calls == 0
    with feedparser_tuning.uninstalled():
        shipped = feedparser.parse(
            _MALFORMED_LATE, sanitize_html=False, resolve_relative_uris=False
        )
    assert tuned["bozo"] == shipped["bozo"] == 1
    # The same error, at the same place: the reason a user reads for a feed that fails.
    assert str(tuned["bozo_exception"]) == str(shipped["bozo_exception"])
    assert "undefined entity" in str(tuned["bozo_exception"])
    assert tuned["entries"] == shipped["entries"]
    assert len(tuned["entries"]) == 51


def test_a_well_formed_document_is_still_read_by_the_strict_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = _MALFORMED_LATE.replace(b"&colon;", b"&amp;colon;")
    calls, tuned = _strict_elements(monkeypatch, document)
    assert calls == 3 + 3 * 50 + 2  # rss, channel, title; the items, the last without a guid
    assert not tuned["bozo"]
    with feedparser_tuning.uninstalled():
        shipped = feedparser.parse(document, sanitize_html=False, resolve_relative_uris=False)
    assert tuned["entries"] == shipped["entries"]


def _in_a_fresh_process(code: str) -> str:
    return subprocess.run(  # noqa: S603 - our own interpreter, a fixed probe
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_importing_the_parser_leaves_feedparser_as_shipped() -> None:
    # The tuning is a patch of feedparser's internals: made on purpose, where the process starts,
    # never as a side effect of an import.
    code = "import bot.sources.parsing, bot.sources.feedparser_tuning as t; print(t.installed())"
    assert _in_a_fresh_process(code) == "False"


def test_the_parse_workers_tune_their_own_feedparser() -> None:
    from bot.services.poll import parse_pool

    pool = parse_pool(1)
    assert pool is not None
    try:
        assert pool.submit(feedparser_tuning.installed).result(timeout=60) is True
    finally:
        pool.shutdown()


def test_the_command_line_tunes_feedparser_before_it_parses(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text("<rss version='2.0'><channel><title>t</title></channel></rss>")
    code = (
        "import contextlib, io, bot.cli, bot.sources.feedparser_tuning as t; "
        "out = io.StringIO(); "
        f"ctx = contextlib.redirect_stdout(out); ctx.__enter__(); bot.cli.main(['parse', {str(feed)!r}]); "
        "ctx.__exit__(None, None, None); print(t.installed())"
    )
    assert _in_a_fresh_process(code).splitlines()[-1] == "True"
