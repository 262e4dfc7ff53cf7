"""A real HTTP server on 127.0.0.1 that imitates Telegram's public channel preview (`t.me/s/<name>`):
pages of generated posts in t.me's markup and paging, the landing pages t.me serves instead, rate
limits and failures; it records every request it gets.

Use the `channel_server` fixture, or `with ChannelServer() as server:` where a fixture does not fit.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# A name as t.me/s/<name> takes it (the parser reads data-post with the same pattern).
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_PREVIEW_PATH = re.compile(r"/s/([A-Za-z0-9_]{1,64})")
_LANDING_PATH = re.compile(r"/([A-Za-z0-9_]{1,64})")


@dataclass(frozen=True)
class Post:
    """One message of a channel, as the preview shows it."""

    id: int
    published: datetime  # timezone-aware; the page writes it in UTC, to the second
    text: str  # plain text: "\n" is a line break; the page collapses other runs of white space
    views: str = "1.2K"  # "" shows no views
    forwarded_from: str | None = None  # a channel's title
    forwarded_from_link: str | None = None  # "https://t.me/rusvolcorps/123"; None: a name only
    edited: bool = False
    # Links in the text, each shown as its URL: an occurrence of the URL in `text` becomes the
    # link, and a URL the text does not hold is added on a line of its own after it.
    links: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.published.tzinfo is None or self.published.utcoffset() is None:
            raise ValueError(f"post {self.id}: published must be timezone-aware")
        if self.forwarded_from_link is not None and self.forwarded_from is None:
            raise ValueError(f"post {self.id}: forwarded_from_link needs forwarded_from")


class Channel:
    """A channel on the server: its posts (by id; adding a post with an id it has replaces that post,
    as an edit does) and whether its preview is on."""

    def __init__(self, name: str, title: str, posts: Iterable[Post], lock: threading.RLock) -> None:
        self.name = name
        self.title = title
        self.preview = True  # False: /s/<name> redirects to the landing page
        self._lock = lock
        self._posts: dict[int, Post] = {}
        self.add(posts)

    @property
    def posts(self) -> list[Post]:
        """The posts, by id."""
        with self._lock:
            return sorted(self._posts.values(), key=lambda post: post.id)

    def add(self, posts: Iterable[Post]) -> None:
        with self._lock:
            for post in posts:
                self._posts[post.id] = post

    def post(self, text: str, *, at: datetime, **facts: Any) -> Post:
        """Publish a post with the next id (1 in an empty channel); `facts` are Post's other fields."""
        with self._lock:
            post = Post(id=max(self._posts, default=0) + 1, published=at, text=text, **facts)
            self._posts[post.id] = post
        return post

    def __repr__(self) -> str:
        return f"Channel({self.name!r}, {self.title!r}, {len(self._posts)} posts)"


@dataclass(frozen=True)
class RecordedChannelRequest:
    """One request the server received: the path as sent (query included), the channel name in it
    as written (None when the path names none), its paging, when it arrived (`time.monotonic()`)
    and the status answered. `preview` tells `/s/<name>` from the landing page `/<name>`."""

    path: str
    name: str | None
    before: int | None
    after: int | None
    at: float
    status: int
    preview: bool = False
    method: str = "GET"


def hourly_posts(
    count: int,
    *,
    newest: datetime,
    first_id: int = 1,
    text: Callable[[int], str] = lambda i: f"Post {i}",
) -> list[Post]:
    """`count` posts with ids from `first_id`, an hour apart, the last published at `newest`;
    `text` gives each post's text from its id."""
    return [
        Post(
            id=first_id + k,
            published=newest - timedelta(hours=count - 1 - k),
            text=text(first_id + k),
        )
        for k in range(count)
    ]


# ---------------------------------------------------------------------------------------------
# The markup, after real pages (tests/data/telegram/sherlock_durov_1.html and the fragments)
# ---------------------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>{title} – Telegram</title>
    <meta name="viewport" content="width=device-width, initial-scale=1.0, minimum-scale=1.0, maximum-scale=1.0, user-scalable=no" />
    <meta name="format-detection" content="telephone=no" />
<meta property="og:title" content="{title}">
<meta property="og:image" content="https://cdn4.telesco.pe/file/{name}.jpg">
<meta property="og:site_name" content="Telegram">
<meta property="og:description" content="{title}: a channel on Telegram.">
<meta property="al:android:url" content="tg://resolve?domain={name}">
<meta name="twitter:card" content="summary">
    {links}
    <link href="//telegram.org/css/widget-frame.css?74" rel="stylesheet" media="screen">
    <link href="//telegram.org/css/telegram-web.css?39" rel="stylesheet" media="screen">
  </head>
  <body class="widget_frame_base tgme_webpreview emoji_image thin_box_shadow tme_mode no_transitions">
    <header class="tgme_header search_collapsed">
  <div class="tgme_container">
    <div class="tgme_header_right_column">
      <section class="tgme_right_column">
        <div class="tgme_channel_info">
          <div class="tgme_channel_info_header">
            <i class="tgme_page_photo_image bgcolor2" data-content="{initial}"></i>
            <div class="tgme_channel_info_header_title_wrap">
              <div class="tgme_channel_info_header_title"><span dir="auto">{title}</span></div>
            </div>
            <div class="tgme_channel_info_header_username"><a href="https://t.me/{name}">@{name}</a></div>
          </div>
          <div class="tgme_channel_info_counters"><div class="tgme_channel_info_counter"><span class="counter_value">1.23K</span> <span class="counter_type">subscribers</span></div></div>
          <div class="tgme_channel_info_description">{title}: a channel on Telegram.</div>
        </div>
      </section>
    </div>
    <div class="tgme_header_info">
      <a class="tgme_header_link" href="https://t.me/{name}">
        <i class="tgme_page_photo_image bgcolor2" data-content="{initial}"></i>
        <div class="tgme_header_title_wrap">
          <div class="tgme_header_title"><span dir="auto">{title}</span></div>
        </div>
        <div class="tgme_header_counter">1.23K subscribers</div>
      </a>
    </div>
  </div>
</header>
<main class="tgme_main" data-url="/{name}">
  <div class="tgme_container">
    <section class="tgme_channel_history js-message_history">
      {history}
    </section>
  </div>
</main>
    <script src="//telegram.org/js/widget-frame.js?67"></script>
    <script src="//telegram.org/js/telegram-web.js?14"></script>
    <script>TWeb.init();
</script>
  </body>
</html>
"""

_MESSAGE = """<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{name}/{id}">
  <div class="tgme_widget_message_user"><a href="https://t.me/{name}"><i class="tgme_widget_message_user_photo bgcolor2" data-content="{initial}"></i></a></div>
  <div class="tgme_widget_message_bubble">
    <i class="tgme_widget_message_bubble_tail"></i>
    <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/{name}"><span dir="auto">{title}</span></a></div>
    {forwarded}{text}<div class="tgme_widget_message_footer compact js-message_footer">
  <div class="tgme_widget_message_info short js-message_info">
    {views}<span class="tgme_widget_message_meta">{edited}<a class="tgme_widget_message_date" href="https://t.me/{name}/{id}"><time datetime="{datetime}" class="time">{clock}</time></a></span>
  </div>
</div>
  </div>
</div></div>"""

_MORE_BEFORE = (
    '<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{name}?before={id}"'
    ' class="tme_messages_more js-messages_more" data-before="{id}"></a></div>'
)
_MORE_AFTER = (
    '<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{name}?after={id}"'
    ' class="tme_messages_more js-messages_more" data-after="{id}"></a></div>'
)
_NO_POSTS = (
    '<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message_centered">'
    '<div class="tme_no_messages_found">No posts found</div></div></div>'
)

_LANDING = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Telegram: Contact @{name}</title>
    <meta name="viewport" content="width=device-width, initial-scale=1.0, minimum-scale=1.0, maximum-scale=1.0, user-scalable=no" />
    <meta property="og:title" content="{og_title}">
    <meta property="og:image" content="https://telegram.org/img/t_logo.png">
    <meta property="og:site_name" content="Telegram">
    <meta property="og:description" content="{og_description}">
    <meta property="al:android:url" content="tg://resolve?domain={name}">
    <meta name="robots" content="noindex, nofollow">
    <link href="//telegram.org/css/telegram.css?240" rel="stylesheet" media="screen">
  </head>
  <body>
    <div class="tgme_page_wrap">
      <div class="tgme_head_wrap">
        <div class="tgme_head">
          <a href="//telegram.org/" class="tgme_head_brand"></a>
          <a class="tgme_head_right_btn" href="//telegram.org/dl?tme={name}">Download</a>
        </div>
      </div>
      <a class="tgme_head_dl_button" href="//telegram.org/dl?tme={name}">Don't have <strong>Telegram</strong> yet? Try it now!<i class="tgme_icon_arrow"></i></a>
      <div class="tgme_body_wrap">
        <div class="tgme_page">
{content}
        </div>
      </div>
    </div>
    <div id="tgme_frame_cont"></div>
    <script src="//telegram.org/js/tgsticker.js?31"></script>
  </body>
</html>
"""

_CHANNEL_LANDING = """          <div class="tgme_page_photo">
            <a href="tg://resolve?domain={name}"><img class="tgme_page_photo_image" src="https://cdn4.telesco.pe/file/{name}.jpg"></a>
          </div>
          <div class="tgme_page_title"><span dir="auto">{title}</span></div>
          <div class="tgme_page_extra">1 234 subscribers</div>
          <div class="tgme_page_description" dir="auto">{title}: a channel on Telegram.</div>
          <div class="tgme_page_action">
            <a class="tgme_action_button_new shine" href="tg://resolve?domain={name}">View in Telegram</a>
          </div>{web_action}"""

_WEB_ACTION = """
          <div class="tgme_page_action tgme_page_web_action">
            <a class="tgme_action_button_new tgme_action_web_button" href="/s/{name}"><span class="tgme_action_button_label">Preview channel</span></a>
          </div>"""

_UNKNOWN_LANDING = """          <div class="tgme_page_description">If you have <strong>Telegram</strong>, you can contact <a class="tgme_username_link" href="tg://resolve?domain={name}">@{name}</a> right away.</div>
          <div class="tgme_page_action">
            <a class="tgme_action_button_new shine" href="tg://resolve?domain={name}">Send Message</a>
          </div>"""

_ERROR = """<html>
<head><title>{status} {reason}</title></head>
<body>
<center><h1>{status} {reason}</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br/>")


def _anchor(url: str) -> str:
    # Since 2024 t.me escapes the "&" of links in posts twice (bot/sources/telegram_page.py:_href).
    href = html.escape(url).replace("&amp;", "&amp;amp;")
    return f'<a href="{href}" target="_blank" rel="noopener">{html.escape(url)}</a>'


def _text(post: Post) -> str:
    """The post's text element: escaped, "\n" as <br/>, its links as anchors."""
    inline = sorted(
        {link for link in post.links if link and link in post.text}, key=len, reverse=True
    )
    parts: list[str] = []
    rest = 0
    if inline:
        for found in re.finditer("|".join(map(re.escape, inline)), post.text):
            parts += [_escape(post.text[rest : found.start()]), _anchor(found[0])]
            rest = found.end()
    parts.append(_escape(post.text[rest:]))
    lines = ["".join(parts)] if post.text else []
    lines += [_anchor(link) for link in dict.fromkeys(post.links) if link and link not in post.text]
    if not lines:
        return ""
    return (
        '<div class="tgme_widget_message_text js-message_text" dir="auto">'
        + "<br/>".join(lines)
        + "</div>\n"
    )


def _forwarded(post: Post) -> str:
    if post.forwarded_from is None:
        return ""
    name = f'<span dir="auto">{html.escape(post.forwarded_from)}</span>'
    if post.forwarded_from_link is None:
        link = f'<span class="tgme_widget_message_forwarded_from_name">{name}</span>'
    else:
        href = html.escape(post.forwarded_from_link)
        link = f'<a class="tgme_widget_message_forwarded_from_name" href="{href}">{name}</a>'
    return (
        '<div class="tgme_widget_message_forwarded_from accent_color">'
        f"Forwarded from&nbsp;{link}</div>\n"
    )


def render_message(name: str, title: str, post: Post) -> str:
    """One message of `name`'s page, in its wrap."""
    published = post.published.astimezone(UTC)
    views = (
        f'<span class="tgme_widget_message_views">{html.escape(post.views)}</span>'
        '<span class="copyonly"> views</span>'
        if post.views
        else ""
    )
    return _MESSAGE.format(
        name=name,
        id=post.id,
        title=html.escape(title),
        initial=html.escape(title[:1]),
        forwarded=_forwarded(post),
        text=_text(post),
        views=views,
        edited="edited &nbsp;" if post.edited else "",
        datetime=published.isoformat(timespec="seconds"),
        clock=published.strftime("%H:%M"),
    )


def page_posts(
    posts: Sequence[Post], *, before: int | None, after: int | None, page_size: int
) -> list[Post]:
    """The posts of one page, oldest first, as t.me picks them from `posts` (sorted by id)."""
    if before is not None:
        return [post for post in posts if post.id < before][-page_size:]
    if after is not None:
        return [post for post in posts if post.id > after][:page_size]
    return list(posts[-page_size:])


def render_page(
    name: str,
    title: str,
    posts: Sequence[Post],
    *,
    before: int | None = None,
    after: int | None = None,
    page_size: int = 20,
) -> str:
    """The page t.me serves at `/s/<name>` (with `?before=` or `?after=`) for a channel holding
    `posts` (sorted by id)."""
    shown = page_posts(posts, before=before, after=after, page_size=page_size)
    links: list[str] = []
    history: list[str] = []
    if shown:
        first, last = shown[0].id, shown[-1].id
        older = bool(posts) and posts[0].id < first
        newer = bool(posts) and posts[-1].id > last
        if older:
            links.append(f'<link rel="prev" href="/s/{name}?before={first}">')
            history.append(_MORE_BEFORE.format(name=name, id=first))
        if newer:
            links.append(f'<link rel="next" href="/s/{name}?after={last}">')
        history += (render_message(name, title, post) for post in shown)
        if newer:
            history.append(_MORE_AFTER.format(name=name, id=last))
    else:
        history.append(_NO_POSTS)
    return _PAGE.format(
        name=name,
        title=html.escape(title),
        initial=html.escape(title[:1]),
        links="\n".join(links),
        history="".join(history),
    )


def render_landing(name: str, title: str | None, *, preview: bool = False) -> str:
    """The page t.me serves at `/<name>`: a channel's (`title` given), with a "Preview channel"
    button when its preview is on, or that of a name no one has (`title` None)."""
    if title is None:
        content = _UNKNOWN_LANDING.format(name=name)
        og_title = f"Telegram: Contact @{name}"
        og_description = f"You can contact @{name} right away."
    else:
        web_action = _WEB_ACTION.format(name=name) if preview else ""
        content = _CHANNEL_LANDING.format(
            name=name, title=html.escape(title), web_action=web_action
        )
        og_title = html.escape(title)
        og_description = f"{html.escape(title)}: a channel on Telegram."
    return _LANDING.format(
        name=name, og_title=og_title, og_description=og_description, content=content
    )


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    name: str | None = None
    before: int | None = None
    after: int | None = None
    preview: bool = False


def _number(values: list[str] | None) -> int | None:
    if not values:
        return None
    value = values[0].strip()
    return int(value) if value.isdecimal() and len(value) <= 18 else None


def _error(status: int, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    reason = BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
    body = _ERROR.format(status=status, reason=reason).encode()
    return status, {"Content-Type": HTML, **(headers or {})}, body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.0: one request per connection, so no keep-alive thread outlives a test.
    protocol_version = "HTTP/1.0"
    timeout = 10  # a client that connects and never sends must not hold stop() for long

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        arrived = time.monotonic()
        owner = self.server.owner
        answer = owner._respond(self.path)
        # Recorded before the answer is sent: a test that has the answer finds the request.
        owner._record(
            RecordedChannelRequest(
                path=self.path,
                name=answer.name,
                before=answer.before,
                after=answer.after,
                at=arrived,
                status=answer.status,
                preview=answer.preview,
                method=self.command,
            )
        )
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if send_body and answer.body:
            try:
                self.wfile.write(answer.body)
            except OSError:
                return  # the client hung up

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded requests are the log."""


class _Server(ThreadingHTTPServer):
    # server_close() joins every request thread (block_on_close), so nothing outlives stop().
    daemon_threads = True
    # socketserver's listen backlog is 5: more connections at once lose their SYNs and retry
    # after a second or more, which a test of many channels would read as slowness of ours.
    request_queue_size = 128
    owner: ChannelServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early is expected, not an error to print."""


class ChannelServer:
    """Telegram's channel preview on a loopback address (127.0.0.1 unless told) and a random port,
    serving from a background thread: pages at `url + "/s/<name>"`, landing pages at
    `url + "/<name>"`. Names are compared without regard to case, as t.me does."""

    def __init__(self, host: str = "127.0.0.1", page_size: int = 20) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1: {page_size}")
        self.host = host
        self.page_size = page_size
        self._lock = threading.RLock()
        self._channels: dict[str, Channel] = {}
        self._limits: dict[str, tuple[int, int]] = {}  # casefolded name: (times left, retry-after)
        self._failures = (0, 502)  # (times left, status)
        self._older_only: dict[str, bool] = {}  # casefolded name: limits spare the newest page
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedChannelRequest] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> ChannelServer:
        if self._server is not None:
            return self
        server = _Server((self.host, 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> ChannelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, "http://127.0.0.1:PORT": a channel's page is at `url + "/s/<name>"`."""
        if self._server is None:
            raise RuntimeError("the channel server is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- channels -------------------------------------------------------------------------------

    def channel(self, name: str, title: str, posts: Iterable[Post] = ()) -> Channel:
        """Add a channel with its preview on (replacing one of the same name, in any case)."""
        channel = Channel(_checked(name), title, posts, self._lock)
        with self._lock:
            self._channels[name.casefold()] = channel
        return channel

    def get(self, name: str) -> Channel | None:
        """The channel of that name (in any case), if added."""
        with self._lock:
            return self._channels.get(name.casefold())

    def disable_preview(self, name: str, title: str) -> None:
        """Turn the preview of a channel off (adding it, without posts, if there is none):
        `/s/<name>` redirects to `/<name>`, its landing page."""
        with self._lock:
            channel = self._channels.get(name.casefold())
            if channel is None:
                channel = self.channel(name, title)
            channel.title = title
            channel.preview = False

    def limit(
        self, name: str, times: int, retry_after: int = 7, *, older_pages_only: bool = False
    ) -> None:
        """Answer the next `times` requests for `/s/<name>` with 429 and `Retry-After` (only
        those for older pages, `?before=`, with `older_pages_only`)."""
        with self._lock:
            self._limits[_checked(name).casefold()] = (times, retry_after)
            self._older_only[_checked(name).casefold()] = older_pages_only

    def fail(self, times: int, status: int = 502) -> None:
        """Answer the next `times` requests, of any path, with `status`."""
        with self._lock:
            self._failures = (times, status)

    def hits(self, name: str) -> int:
        """How many requests asked for `/s/<name>` (any case, any query; not the landing page)."""
        wanted = name.casefold()
        with self._lock:
            return sum(
                1
                for request in self.requests
                if request.preview and (request.name or "").casefold() == wanted
            )

    # -- used by the handler thread -------------------------------------------------------------

    def _record(self, request: RecordedChannelRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _respond(self, target: str) -> _Answer:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        before, after = _number(query.get("before")), _number(query.get("after"))
        preview = _PREVIEW_PATH.fullmatch(parts.path)
        landing = _LANDING_PATH.fullmatch(parts.path)
        name = preview[1] if preview else landing[1] if landing else None
        paging: dict[str, Any] = {"name": name, "preview": preview is not None}
        if preview:
            paging |= {"before": before, "after": after}
        with self._lock:
            failures, failure_status = self._failures
            if failures > 0:
                self._failures = (failures - 1, failure_status)
                return _Answer(*_error(failure_status), **paging)
            if name is None:
                return _Answer(404, {"Content-Type": TEXT}, b"not found")
            key = name.casefold()
            limited, retry_after = self._limits.get(key, (0, 0))
            spared = self._older_only.get(key, False) and before is None
            if preview and limited > 0 and not spared:
                self._limits[key] = (limited - 1, retry_after)
                return _Answer(*_error(429, {"Retry-After": str(retry_after)}), **paging)
            channel = self._channels.get(key)
            # A snapshot: the test thread may add posts while the page is drawn.
            found = (
                (channel.name, channel.title, channel.preview, channel.posts) if channel else None
            )
        if preview:
            if found is None or not found[2]:
                return _Answer(302, {"Location": f"/{name}"}, b"", **paging)
            real_name, title, _, posts = found
            body = render_page(
                real_name,
                title,
                posts,
                before=before,
                after=None if before is not None else after,
                page_size=self.page_size,
            )
        elif found is None:
            body = render_landing(name, None)
        else:
            body = render_landing(found[0], found[1], preview=found[2])
        return _Answer(200, {"Content-Type": HTML}, body.encode(), **paging)


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a channel name t.me takes: {name!r}")
    return name


@pytest.fixture
def channel_server() -> Iterator[ChannelServer]:
    """A started `ChannelServer`, stopped after the test."""
    with ChannelServer() as server:
        yield server
