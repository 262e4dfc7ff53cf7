"""Which HTML parser reads channel pages (issue 16: "lxml or selectolax; measure, then choose"):
lxml against selectolax's lexbor backend on the same work, building the tree, finding the messages
by class and reading each message's text element; the last line is the ratio.

selectolax is not a dependency; install it beside the checkout for this run only:

    .tools/bin/uv pip install --target /tmp/sx selectolax
    PYTHONPATH=/tmp/sx .venv/bin/python benchmarks/html_parsers.py [--rounds R]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lxml.etree

try:
    from selectolax.lexbor import LexborHTMLParser
except ImportError:
    sys.exit("selectolax is not installed: see this script's docstring")

REPO = Path(__file__).resolve().parents[1]
PAGES = ("sherlock_durov_1.html", "any2feed_topwar_official_1.html")
_MESSAGES = lxml.etree.XPath("//*[@data-post][contains(@class, 'tgme_widget_message')]")
_TEXTS = lxml.etree.XPath(".//*[contains(@class, 'tgme_widget_message_text')]")


def with_lxml(data: bytes) -> int:
    parser = lxml.etree.HTMLParser(encoding="utf-8", recover=True, no_network=True)
    root = lxml.etree.fromstring(data, parser)
    return sum(len("".join(t.itertext())) for m in _MESSAGES(root) for t in _TEXTS(m))


def with_lexbor(data: bytes) -> int:
    tree = LexborHTMLParser(data)
    messages = tree.css("[data-post].tgme_widget_message")
    return sum(len(t.text()) for m in messages for t in m.css(".tgme_widget_message_text"))


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--rounds", type=int, default=50)
    rounds = options.parse_args().rounds
    pages = [(REPO / "tests" / "data" / "telegram" / name).read_bytes() for name in PAGES]
    contenders: dict[str, Callable[[bytes], int]] = {"lxml": with_lxml, "selectolax": with_lexbor}
    read = {name: sum(map(parse, pages)) for name, parse in contenders.items()}
    if len(set(read.values())) != 1:
        sys.exit(f"the parsers read different texts: {read}")
    print(f"{len(pages)} pages, {rounds} rounds; both read {read['lxml']} characters")
    seconds = dict.fromkeys(contenders, 0.0)
    for round_ in range(rounds):
        names = list(contenders)[round_ % 2 :] + list(contenders)[: round_ % 2]
        for name in names:
            for data in pages:
                start = time.perf_counter()
                contenders[name](data)
                seconds[name] += time.perf_counter() - start
    for name, spent in seconds.items():
        print(f"{name:<12} {rounds * len(pages) / spent:7.1f} pages/s")
    print(f"ratio: selectolax {seconds['lxml'] / seconds['selectolax']:.2f}x lxml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
