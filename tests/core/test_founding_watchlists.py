"""The shipped founding watchlists (config/watchlists.toml): the spellings `suggest` found are
there, and the context terms cut the noise their comments name (РДК the house of culture, ЛСР the
developer, «Свобода России» the émigré forum) without losing the fighting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.matching import Matcher
from bot.ops.watchlist_file import load_watchlists

FOUNDING = Matcher(load_watchlists(Path(__file__).parents[2] / "config" / "watchlists.toml"))


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        # РДК: the corps, and the house of culture.
        ("Бойцы РДК заявили о рейде", "", {"rvc"}),
        ("В РДК прошёл концерт хора", "", set()),
        ("„Рождественские встречи“ в РДК", "В районном Доме культуры выступят коллективы", set()),
        ("Российский добровольческий корпус заявил о рейде", "", {"rvc"}),
        # ЛСР: the legion, and the developer.
        ("РДК и ЛСР заявили о продолжении рейда", "", {"rvc", "lsr"}),
        ("ЛСР увеличила выручку от продажи квартир", "", set()),
        ("Группа ЛСР сдала новый дом", "", set()),
        ("LSR Group reports record revenue from apartments", "", set()),
        ("LSR fighters claim a raid", "", {"lsr"}),
        # «Свобода России» without «Легион»: the fighting, and the forum.
        ("Бойцы «Свободы России» вошли в Тёткино", "", {"lsr"}),
        ("«Свобода России»: в Вильнюсе прошла конференция эмигрантов", "", set()),
        ("Бійці «Свободи Росії» увійшли до Тьоткіно", "", {"lsr"}),
        ("Russian Freedom Legion fighters enter Tyotkino", "", {"lsr"}),
    ],
)
def test_the_founding_lists_take_the_fighting_and_leave_the_other_meanings(
    title: str, summary: str, expected: set[str]
) -> None:
    assert set(FOUNDING.match(title, summary)) == expected
