"""Where items come from: fetching under the address guard, feed parsing (feedparser, tuned),
OPML. A new kind of source (a public Telegram channel) goes here beside the feed reader."""
