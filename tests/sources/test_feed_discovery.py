"""The feeds a web page announces in its head, as readers find them from a site's address."""

from __future__ import annotations

from bot.sources.feed_discovery import announced_feeds

PAGE = b"""<!DOCTYPE html><html><head><title>Frontline</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/atom+xml" title="Atom" href="/atom.xml">
<link rel="alternate" type="application/rss+xml; charset=utf-8" title="RSS" href="rss">
<link rel="alternate" hreflang="uk" href="/uk/">
<link rel="alternate" type="application/rss+xml" href="rss">
<link rel="Alternate Feed" type="application/feed+json" href="https://cdn.example/feed.json">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="canonical" href="https://frontline.example/">
</head><body><a href="/other.rss">RSS</a></body></html>"""


def test_a_page_names_its_feeds_best_first_each_once_and_absolute() -> None:
    assert announced_feeds(PAGE, "https://frontline.example/news/") == [
        "https://frontline.example/news/rss",
        "https://frontline.example/atom.xml",
        "https://cdn.example/feed.json",
    ]


def test_a_page_without_alternates_or_no_page_at_all_names_none() -> None:
    assert announced_feeds(b"<html><body><p>Hi</p></body></html>", "https://a.example/") == []
    assert announced_feeds(b"", "https://a.example/") == []
    assert announced_feeds(b"\x00\xff binary", "https://a.example/") == []
