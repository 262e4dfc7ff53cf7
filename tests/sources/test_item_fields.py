"""An item's author and categories are read from RSS (<dc:creator>, <author>, <category>), Atom
(<author><name>, <category term>) and JSON Feed (authors, tags), on one line each, repeats told
once, markup dropped; an item without them has none."""

from __future__ import annotations

import json

from bot.sources.parsing import parse_feed

RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
<item><guid>a</guid><title>Raid</title><dc:creator>Ilya  Ponomarev</dc:creator>
<category>Kursk region</category><category>War</category><category>War</category></item>
<item><guid>b</guid><title>Plain</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:t</id><updated>2024-03-12T05:00:00Z</updated>
<entry><id>urn:a</id><title>Raid</title><updated>2024-03-12T05:00:00Z</updated>
<author><name>Meduza &amp; partners</name></author>
<category term="Belgorod" label="Belgorod region"/></entry>
</feed>"""


def test_rss_gives_the_author_and_categories() -> None:
    first, second = parse_feed(RSS, source="test.rss").items
    assert first.author == "Ilya Ponomarev"
    assert first.categories == ("Kursk region", "War")
    assert (second.author, second.categories) == (None, ())


def test_atom_gives_the_authors_name_and_the_categorys_term() -> None:
    [entry] = parse_feed(ATOM, source="test.atom").items
    assert entry.author == "Meduza & partners"
    assert entry.categories == ("Belgorod",)


def test_json_feed_gives_the_authors_names_and_tags() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "t",
        "items": [
            {
                "id": "1",
                "title": "Raid",
                "content_text": "x",
                "authors": [{"name": "A. Writer"}, {"name": "B. Writer"}],
                "tags": ["Kursk", " Kursk ", "Легион"],
            }
        ],
    }
    [item] = parse_feed(json.dumps(doc).encode(), source="feed.json").items
    assert item.author == "A. Writer, B. Writer"
    assert item.categories == ("Kursk", "Легион")
