"""The fake Telegram Bot API: the real python-telegram-bot against it, and the requests it rejects."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.fakes.telegram_api import FakeBotApi, parse_html

# The fixture; the redundant alias marks it as re-exported, so ruff sees no unused import.
from tests.fakes.telegram_api import fake_bot_api as fake_bot_api

USER = 42  # a private chat is the user's id
SUPERGROUP = -1001234567890


def make_bot(server: FakeBotApi) -> Bot:
    return Bot(server.token, base_url=f"{server.url}/bot", base_file_url=f"{server.url}/file/bot")


def post(server: FakeBotApi, method: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=server.url) as client:
        return client.post(f"/bot{server.token}/{method}", **kwargs)


# -- the real PTB Bot against the fake ---------------------------------------------------------


async def test_get_me_and_send_message_with_html(fake_bot_api: FakeBotApi) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Mute", callback_data="mute:1")]])
    async with make_bot(fake_bot_api) as bot:
        me = await bot.get_me()
        message = await bot.send_message(
            USER,
            "<b>Зеленський</b> &amp; <a href='https://example.com/?a=1&amp;b=2'>co</a>\n",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )

    assert (me.username, me.is_bot, me.id) == ("feedwatch_test_bot", True, 123456)
    assert message.text == "Зеленський & co"  # tags gone, entities decoded, trailing \n trimmed
    assert message.entities == (
        MessageEntity(MessageEntity.BOLD, 0, 10),
        MessageEntity(MessageEntity.TEXT_LINK, 13, 2, url="https://example.com/?a=1&b=2"),
    )
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert message.from_user.id == me.id
    assert message.reply_markup == keyboard
    [sent] = fake_bot_api.sent_messages(USER)
    assert sent.params["chat_id"] == USER
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["text"].startswith("<b>Зеленський</b>")
    assert sent.params["link_preview_options"] == {"is_disabled": True}
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "mute:1"
    assert fake_bot_api.sent_texts() == ["Зеленський & co"]
    # `async with bot` calls getMe itself.
    assert [r.method for r in fake_bot_api.requests] == ["getMe", "getMe", "sendMessage"]


async def test_message_ids_increase_per_chat_and_threads_are_echoed(
    fake_bot_api: FakeBotApi,
) -> None:
    async with make_bot(fake_bot_api) as bot:
        first = await bot.send_message(SUPERGROUP, "one", message_thread_id=7)
        second = await bot.send_message(SUPERGROUP, "two")
        other = await bot.send_message(USER, "three")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.type == "supergroup"
    assert (first.message_thread_id, first.is_topic_message) == (7, True)
    assert second.message_thread_id is None


async def test_commands_are_stored_per_scope(fake_bot_api: FakeBotApi) -> None:
    commands = [BotCommand("watch", "Watch a name"), BotCommand("list", "List watched names")]
    async with make_bot(fake_bot_api) as bot:
        assert await bot.set_my_commands(commands) is True
        assert await bot.set_my_commands(commands[:1], scope=BotCommandScopeChat(USER)) is True
        assert await bot.get_my_commands() == tuple(commands)
        assert await bot.get_my_commands(scope=BotCommandScopeChat(USER)) == tuple(commands[:1])
        assert await bot.delete_my_commands() is True
        assert await bot.get_my_commands() == ()
    [first, *_] = fake_bot_api.calls("setMyCommands")
    assert first.params["commands"][0] == {"command": "watch", "description": "Watch a name"}


async def test_get_updates_delivers_a_pushed_command(fake_bot_api: FakeBotApi) -> None:
    update_id = fake_bot_api.push_message(
        SUPERGROUP,
        "/watch@feedwatch_test_bot Залужний",
        user_id=7,
        message_thread_id=3,
        is_topic_message=True,
        language_code="uk",
    )
    async with make_bot(fake_bot_api) as bot:
        [update] = await bot.get_updates(timeout=1)
        assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()

    assert isinstance(update, Update)
    assert update.update_id == update_id
    message = update.message
    assert message is not None
    assert message.text == "/watch@feedwatch_test_bot Залужний"
    assert message.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 25),)
    assert message.parse_entities([MessageEntity.BOT_COMMAND]) == {
        message.entities[0]: "/watch@feedwatch_test_bot"
    }
    assert message.chat.type == "supergroup"
    assert message.chat.is_forum is True
    assert (message.message_thread_id, message.is_topic_message) == (3, True)
    assert message.from_user is not None
    assert (message.from_user.id, message.from_user.language_code) == (7, "uk")
    assert fake_bot_api.updates_consumed()


async def test_send_document_uploads_the_bytes(fake_bot_api: FakeBotApi) -> None:
    content = "Залужний\nBudanov\n".encode()
    async with make_bot(fake_bot_api) as bot:
        message = await bot.send_document(
            USER,
            document=content,
            filename="names.txt",
            caption="<i>your list</i>",
            parse_mode=ParseMode.HTML,
        )
        assert message.document is not None
        file = await bot.get_file(message.document.file_id)
        downloaded = await file.download_as_bytearray()

    assert message.document.file_name == "names.txt"
    assert message.document.file_size == len(content)
    assert message.caption == "your list"
    assert message.caption_entities == (MessageEntity(MessageEntity.ITALIC, 0, 9),)
    [sent] = fake_bot_api.calls("sendDocument")
    assert sent.files == {"document": content}
    assert "document" not in sent.params
    assert bytes(downloaded) == content


async def test_a_pushed_document_can_be_downloaded(fake_bot_api: FakeBotApi) -> None:
    document = fake_bot_api.add_file(b"Putin\n", "watch.csv", "text/csv")
    fake_bot_api.push_message(USER, "/import", document=document)
    async with make_bot(fake_bot_api) as bot:
        [update] = await bot.get_updates()
        message = update.message
        assert message is not None
        assert message.document is not None
        file = await message.document.get_file()
        assert bytes(await file.download_as_bytearray()) == b"Putin\n"
    assert message.caption == "/import"
    assert message.caption_entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 7),)
    assert (message.document.file_name, message.document.mime_type) == ("watch.csv", "text/csv")


async def test_callback_query_carries_the_sent_message(fake_bot_api: FakeBotApi) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop:9")]])
    async with make_bot(fake_bot_api) as bot:
        sent = await bot.send_message(USER, "Watching 9", reply_markup=keyboard)
        fake_bot_api.push_callback_query(USER, "stop:9", message_id=sent.message_id)
        [update] = await bot.get_updates()
        query = update.callback_query
        assert query is not None
        assert await query.answer("Stopped") is True
        edited = await query.edit_message_text("<s>Watching 9</s>", parse_mode=ParseMode.HTML)
    assert query.data == "stop:9"
    assert query.from_user.id == USER
    assert isinstance(query.message, Message)  # not an InaccessibleMessage
    assert query.message.text == "Watching 9"
    assert query.message.reply_markup == keyboard
    assert not isinstance(edited, bool)
    assert edited.text == "Watching 9"
    assert edited.entities == (MessageEntity(MessageEntity.STRIKETHROUGH, 0, 10),)
    assert edited.edit_date is not None
    assert [r.method for r in fake_bot_api.requests][-2:] == [
        "answerCallbackQuery",
        "editMessageText",
    ]


async def test_chat_and_member_queries_deserialise(fake_bot_api: FakeBotApi) -> None:
    fake_bot_api.push_message(SUPERGROUP, "hello", user_id=7)
    fake_bot_api.push_message(SUPERGROUP, "hi", user_id=8)
    fake_bot_api.set_chat_member_status(SUPERGROUP, 9, "left")
    async with make_bot(fake_bot_api) as bot:
        chat = await bot.get_chat(SUPERGROUP)
        owner = await bot.get_chat_member(SUPERGROUP, 7)
        admin = await bot.get_chat_member(SUPERGROUP, 8)
        gone = await bot.get_chat_member(SUPERGROUP, 9)
        admins = await bot.get_chat_administrators(SUPERGROUP)
        private = await bot.get_chat_member(USER, USER)
        with pytest.raises(BadRequest, match="no administrators in the private chat"):
            await bot.get_chat_administrators(USER)
    assert (chat.id, chat.type) == (SUPERGROUP, "supergroup")
    assert (owner.status, owner.user.id) == (ChatMemberStatus.OWNER, 7)
    assert admin.status == ChatMemberStatus.ADMINISTRATOR
    assert admin.can_restrict_members is True  # type: ignore[attr-defined]
    assert gone.status == ChatMemberStatus.LEFT
    assert [(m.user.id, m.status) for m in admins] == [
        (7, ChatMemberStatus.OWNER),
        (8, ChatMemberStatus.ADMINISTRATOR),
        (123456, ChatMemberStatus.ADMINISTRATOR),
    ]
    assert private.status == ChatMemberStatus.MEMBER


async def test_application_polls_and_replies(fake_bot_api: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        assert context.args is not None
        await update.effective_message.reply_html(f"Hello, <b>{context.args[0]}</b>!")

    application = (
        Application.builder()
        .token(fake_bot_api.token)
        .base_url(f"{fake_bot_api.url}/bot")
        .base_file_url(f"{fake_bot_api.url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    fake_bot_api.push_message(USER, "/start analyst")
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        await application.start()
        await fake_bot_api.wait_for_async(lambda s: len(s.sent_messages(USER)) == 1)
        await application.updater.stop()
        await application.stop()

    assert fake_bot_api.sent_texts(USER) == ["Hello, analyst!"]
    assert fake_bot_api.updates_consumed()


# -- what the fake rejects ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "data", "expected"),
    [
        pytest.param("sendMessage", {"text": "hi"}, 'required parameter "chat_id" is missing',
                     id="missing-required"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "hi", "colour": "red"},
                     'unknown parameter "colour"', id="unknown-parameter"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "hi", "message_thread_id": "abc"},
                     'message_thread_id must be Integer, got "abc"', id="integer-wanted"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "hi", "disable_notification": "yes"},
                     "disable_notification must be Boolean", id="boolean-wanted"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "<div>x</div>", "parse_mode": "HTML"},
                     'Unsupported start tag "div" at byte offset 0', id="html-unsupported-tag"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "<b>x", "parse_mode": "HTML"},
                     'Can\'t find end tag corresponding to start tag "b"', id="html-unclosed"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "<b><i>x</b></i>", "parse_mode": "HTML"},
                     'expected "</i>", found "</b>"', id="html-misnested"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "Tom & Jerry", "parse_mode": "HTML"},
                     'Character "&" must be escaped as "&amp;" (byte offset 4)', id="html-bare-amp"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "1 < 2", "parse_mode": "HTML"},
                     'Character "<" must be escaped', id="html-bare-lt"),
        # Telegram tolerates a bare ">", its documentation does not: the fake is strict.
        pytest.param("sendMessage", {"chat_id": "42", "text": "a > b", "parse_mode": "HTML"},
                     'Character ">" must be escaped as "&gt;"', id="html-bare-gt"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "<span>x</span>", "parse_mode": "HTML"},
                     'Tag "span" must have class "tg-spoiler"', id="html-plain-span"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "<a>x</a>", "parse_mode": "HTML"},
                     'Tag "a" must have a non-empty "href"', id="html-a-without-href"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "x", "parse_mode": "html5"},
                     'unsupported parse_mode "html5"', id="parse-mode"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "<b>" + "я" * 4097 + "</b>",
                                     "parse_mode": "HTML"},
                     "message is too long (4097 characters", id="text-too-long"),
        pytest.param("sendMessage", {"chat_id": "42", "text": ""}, "message text is empty",
                     id="text-empty"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "<b> </b>", "parse_mode": "HTML"},
                     "message text is empty", id="text-blank-after-parsing"),
        pytest.param("sendDocument", {"chat_id": "42", "document": "file-id", "caption": "c" * 1025},
                     "message caption is too long", id="caption-too-long"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "x", "reply_markup": json.dumps(
                         {"inline_keyboard": [[{"text": "x", "callback_dat": "y"}]]})},
                     'reply_markup.inline_keyboard[0][0] has unknown field "callback_dat"',
                     id="object-unknown-field"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "x", "reply_markup": json.dumps(
                         {"inline_keyboard": [[{"text": "x", "callback_data": "y" * 65}]]})},
                     "callback_data must be 1-64 bytes", id="callback-data-too-long"),
        pytest.param("sendMessage", {"chat_id": "42", "text": "x", "reply_markup": "{not json"},
                     "reply_markup must be InlineKeyboardMarkup or", id="object-not-json"),
        pytest.param("setMyCommands", {"commands": json.dumps([{"command": "watch"}])},
                     'commands[0] lacks required field "description" of BotCommand',
                     id="object-missing-field"),
        pytest.param("setMyCommands", {"commands": json.dumps(
                         [{"command": "Watch", "description": "d"}])},
                     "BOT_COMMAND_INVALID", id="bot-command-name"),
        pytest.param("setMyCommands", {"commands": "[]", "scope": json.dumps({"type": "chat"})},
                     'scope lacks required field "chat_id" of BotCommandScopeChat',
                     id="subtype-missing-field"),
        pytest.param("setMyCommands", {"commands": "[]", "scope": json.dumps({"type": "planet"})},
                     "scope is not any kind of BotCommandScope", id="subtype-unknown"),
    ],
)  # fmt: skip
def test_invalid_requests_are_answered_400_and_recorded(
    fake_bot_api: FakeBotApi, method: str, data: dict[str, str], expected: str
) -> None:
    response = post(fake_bot_api, method, data=data)

    body = response.json()
    assert response.status_code == 400
    assert body["ok"] is False
    assert body["error_code"] == 400
    assert body["description"].startswith("Bad Request: ")
    errors = fake_bot_api.take_errors()
    assert any(expected in error for error in errors), errors
    assert errors[0].startswith(f"{method}: ")
    assert fake_bot_api.requests[-1].ok is False
    assert fake_bot_api.sent_messages() == []


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        pytest.param("<b>x</b>" + "a" * 4095, "x" + "a" * 4095, id="4096-after-tags-removed"),
        pytest.param("&lt;" * 4096, "<" * 4096, id="4096-after-entities-decoded"),
        pytest.param("a" * 4096, "a" * 4096, id="4096-plain"),
        pytest.param("  <b>x</b> &#65;&#x42; &quot;q&quot; <tg-spoiler>s</tg-spoiler>\n",
                     'x AB "q" s', id="trimmed-and-decoded"),
        pytest.param('<pre><code class="language-python">a = 1</code></pre>', "a = 1", id="pre"),
        pytest.param('<blockquote expandable>q</blockquote><span class="tg-spoiler">s</span>',
                     "qs", id="blockquote-spoiler"),
        pytest.param('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> '
                     '<tg-time unix="1647531900" format="wDT">then</tg-time>', "👍 then",
                     id="emoji-time"),
    ],
)  # fmt: skip
def test_valid_html_is_accepted(fake_bot_api: FakeBotApi, text: str, plain: str) -> None:
    response = post(fake_bot_api, "sendMessage", data={"chat_id": "42", "text": text,
                                                       "parse_mode": "HTML"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["result"]["text"] == plain


def test_html_entities_have_utf16_offsets() -> None:
    plain, entities = parse_html('😀 <b>bold</b> <a href="tg://user?id=5">you</a>')
    assert plain == "😀 bold you"
    assert entities == [
        {"offset": 3, "length": 4, "type": "bold"},
        {"offset": 8, "length": 3, "type": "text_mention",
         "user": {"id": 5, "is_bot": False, "first_name": "User 5"}},
    ]  # fmt: skip


def test_chat_id_may_be_a_username_but_integers_are_decoded(fake_bot_api: FakeBotApi) -> None:
    assert post(fake_bot_api, "sendMessage", data={"chat_id": "@feed", "text": "a"}).is_success
    assert post(fake_bot_api, "sendMessage", data={"chat_id": "-100123", "text": "b"}).is_success
    assert [r.params["chat_id"] for r in fake_bot_api.sent_messages()] == ["@feed", -100123]


def test_json_bodies_are_checked_too(fake_bot_api: FakeBotApi) -> None:
    good = post(fake_bot_api, "sendMessage", json={"chat_id": 42, "text": "hi", "entities": [
        {"type": "bold", "offset": 0, "length": 2}]})  # fmt: skip
    bad = post(
        fake_bot_api, "sendMessage", json={"chat_id": 42, "text": "hi", "protect_content": 1}
    )

    assert good.json()["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert bad.status_code == 400
    assert fake_bot_api.take_errors() == [
        "sendMessage: protect_content must be Boolean, got 1",
    ]


def test_wrong_token_and_unknown_method(fake_bot_api: FakeBotApi) -> None:
    with httpx.Client(base_url=fake_bot_api.url) as client:
        unauthorized = client.post("/bot999:WRONG/getMe")
        not_found = client.post(f"/bot{fake_bot_api.token}/sendMesage", data={"chat_id": "1"})
    assert (unauthorized.status_code, unauthorized.json()["description"]) == (401, "Unauthorized")
    assert (not_found.status_code, not_found.json()["description"]) == (404, "Not Found")
    errors = fake_bot_api.take_errors()
    assert len(errors) == 2
    assert "wrong token" in errors[0]
    assert errors[1].startswith("sendMesage: no such method")


async def test_ptb_sees_a_parse_error_as_bad_request(fake_bot_api: FakeBotApi) -> None:
    async with make_bot(fake_bot_api) as bot:
        with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
            await bot.send_message(USER, "<br>", parse_mode=ParseMode.HTML)
    assert fake_bot_api.take_errors() == [
        'sendMessage: can\'t parse entities: Unsupported start tag "br" at byte offset 0 (in text)'
    ]


# -- injected failures --------------------------------------------------------------------------


async def test_injected_failures_become_ptb_exceptions(
    fake_bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without PTB_TIMEDELTA, PTB 22 warns (an error under our filterwarnings) on RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    fake_bot_api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 3", {"retry_after": 3}
    )
    fake_bot_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    fake_bot_api.fail_next(
        "sendmessage", 400, "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": SUPERGROUP},
    )  # fmt: skip
    async with make_bot(fake_bot_api) as bot:
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(USER, "one")
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER, "two")
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(-123, "three")
        delivered = await bot.send_message(USER, "four")

    assert flood.value.retry_after == dtm.timedelta(seconds=3)
    assert migrated.value.new_chat_id == SUPERGROUP
    assert delivered.text == "four"
    assert [r.ok for r in fake_bot_api.calls("sendMessage")] == [False, False, False, True]
    assert fake_bot_api.calls("sendMessage")[0].error == "Too Many Requests: retry after 3"
    assert fake_bot_api.sent_texts() == ["four"]
    assert fake_bot_api.errors == []


def test_fail_next_rejects_unknown_methods(fake_bot_api: FakeBotApi) -> None:
    with pytest.raises(ValueError, match="sendMesage"):
        fake_bot_api.fail_next("sendMesage", 500, "x")


# -- getUpdates ---------------------------------------------------------------------------------


def test_get_updates_honours_offset_and_limit(fake_bot_api: FakeBotApi) -> None:
    ids = [fake_bot_api.push_message(USER, f"m{n}") for n in range(3)]

    def update_ids(**params: Any) -> list[int]:
        response = post(fake_bot_api, "getUpdates", data={k: str(v) for k, v in params.items()})
        return [u["update_id"] for u in response.json()["result"]]

    assert update_ids() == ids
    assert update_ids(limit=1) == ids[:1]
    assert update_ids(offset=ids[1]) == ids[1:]
    assert update_ids() == ids[1:]  # the first one is confirmed and forgotten
    assert not fake_bot_api.updates_consumed()
    assert update_ids(offset=ids[2] + 1, timeout=0) == []
    assert fake_bot_api.updates_consumed()
    with pytest.raises(ValueError, match="already confirmed"):
        fake_bot_api.push_update({"update_id": ids[0], "message": {}})


async def test_long_poll_returns_an_update_pushed_while_waiting(fake_bot_api: FakeBotApi) -> None:
    async with make_bot(fake_bot_api) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=1))
        update_id = fake_bot_api.push_message(USER, "late")
        [update] = await poll
    assert update.update_id == update_id


def test_long_poll_is_capped_and_answers_empty(fake_bot_api: FakeBotApi) -> None:
    with httpx.Client(base_url=fake_bot_api.url) as client:
        # With nothing queued the poll waits its (capped) timeout, then answers [].
        response = client.post(f"/bot{fake_bot_api.token}/getUpdates", data={"timeout": "30"})
    assert response.json() == {"ok": True, "result": []}


def test_wait_for_times_out_with_a_summary() -> None:
    with FakeBotApi() as server:
        post(server, "getMe")
        with pytest.raises(AssertionError, match=r"(?s)within 0\.1s.*getMe\(\) -> ok"):
            server.wait_for(lambda s: bool(s.sent_messages()), timeout=0.1)


def test_markdown_v2_is_accepted_loosely(fake_bot_api: FakeBotApi) -> None:
    text = r"*Putin* said \. [this](https://x.y/\)) _x_"
    data = {"chat_id": "42", "text": text, "parse_mode": "MarkdownV2"}
    response = post(fake_bot_api, "sendMessage", data=data)
    assert response.json()["result"]["text"] == "Putin said . this x"


def test_pushed_updates_and_answers_must_match_the_spec(fake_bot_api: FakeBotApi) -> None:
    with pytest.raises(ValueError, match='lacks required field "chat" of Message'):
        fake_bot_api.push_update({"message": {"message_id": 1, "date": 0}})
    user = {"id": "1", "is_bot": False}
    assert fake_bot_api.validate_object("User", user) == [
        'User.id must be Integer, got "1"',
        'User lacks required field "first_name" of User',
    ]


# -- enforce_limits ------------------------------------------------------------------------------


def test_enforce_limits_answers_429_like_telegram(fake_bot_api: FakeBotApi) -> None:
    now = [0.0]
    fake_bot_api.enforce_limits(clock=lambda: now[0])

    def send(chat_id: int | str) -> httpx.Response:
        return post(fake_bot_api, "sendMessage", data={"chat_id": str(chat_id), "text": "hi"})

    # One message a second to a private chat; a refusal says how long to wait and does not count.
    assert send(USER).status_code == 200
    now[0] = 0.5
    refused = send(USER)
    assert refused.status_code == 429
    assert refused.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    now[0] = 1.0
    assert send(USER).status_code == 200

    # 30 sends in any second overall, to whatever chats; other methods are not limited.
    now[0] = 10.0
    assert all(send(1000 + n).status_code == 200 for n in range(30))
    now[0] = 10.9
    assert send(2000).status_code == 429
    assert post(fake_bot_api, "getMe").status_code == 200
    assert post(
        fake_bot_api, "sendChatAction", data={"chat_id": "2000", "action": "typing"}
    ).is_success
    now[0] = 11.0
    assert send(2000).status_code == 200

    # 20 a minute to one group: the 21st waits until the first of them is a minute old.
    for n in range(20):
        now[0] = 100.0 + 2 * n
        assert send(SUPERGROUP).status_code == 200
    now[0] = 139.5
    assert send(SUPERGROUP).json()["parameters"] == {"retry_after": 21}
    assert send("@feedwatch_channel").status_code == 200  # another chat has its own window
    now[0] = 160.0
    assert send(SUPERGROUP).status_code == 200
    assert fake_bot_api.rate_limited == 3
    assert len(fake_bot_api.sent_messages(USER)) == 2


async def test_enforce_limits_reaches_ptb_as_retry_after(
    fake_bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # as in test_injected_failures_become_ptb_exceptions
    fake_bot_api.enforce_limits(clock=lambda: 0.0)
    async with make_bot(fake_bot_api) as bot:
        await bot.send_message(USER, "first")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(USER, "second")
    assert refused.value.retry_after == dtm.timedelta(seconds=1)
    assert fake_bot_api.rate_limited == 1
