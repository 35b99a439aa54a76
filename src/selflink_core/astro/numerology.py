"""Numerology, the owner's "matrix" domain: life path, birthday number and personal year.

Numbers are reduced by adding their decimal digits until one digit is left, except that the
master numbers 11, 22 and 33 are kept where a rule says so. Worked examples are in
docs/astro.md, and the tests check them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from selflink_core.astro.chart import Result, hash_document
from selflink_core.astro.errors import InvalidBirthData
from selflink_core.astro.zodiac import RULES_VERSION

NUMEROLOGY: Final = "numerology"
MASTER_NUMBERS: Final = frozenset({11, 22, 33})


def reduce_number(value: int, *, keep_masters: bool) -> int:
    """Add digits until a single digit (or, with `keep_masters`, 11, 22 or 33) remains."""
    if value < 0:
        raise ValueError("numerology reduces non-negative numbers only")
    while value > 9 and not (keep_masters and value in MASTER_NUMBERS):
        value = sum(int(digit) for digit in str(value))
    return value


def life_path(birth_date: dt.date) -> int:
    """Month, day and year are each reduced (keeping masters), then their sum is reduced
    (keeping 11, 22 and 33). 1990-05-17: 5 + 8 + 1 (1990 -> 19 -> 10 -> 1) = 14 -> 5."""
    parts = (birth_date.month, birth_date.day, birth_date.year)
    total = sum(reduce_number(part, keep_masters=True) for part in parts)
    return reduce_number(total, keep_masters=True)


def birthday_number(birth_date: dt.date) -> int:
    """The day of the month reduced, keeping 11 and 22 (days 11, 22 and 29)."""
    return reduce_number(birth_date.day, keep_masters=True)


def personal_year(birth_date: dt.date, year: int) -> int:
    """Birth month and day with the calendar `year`, each reduced, summed, reduced to 1..9.

    The personal year runs from January 1 to December 31 of `year`.
    """
    parts = (birth_date.month, birth_date.day, year)
    total = sum(reduce_number(part, keep_masters=False) for part in parts)
    return reduce_number(total, keep_masters=False)


def personal_day(birth_date: dt.date, day: dt.date) -> int:
    """The personal year of `day`'s year plus its month, reduced (the personal month), plus its
    day of the month, reduced to 1..9. 1990-05-17 on 2026-12-06: year 5 + 17 + 2026 ->
    5 + 8 + 1 = 14 -> 5; month 5 + 12 = 17 -> 8; day 8 + 6 = 14 -> 5."""
    month = reduce_number(personal_year(birth_date, day.year) + day.month, keep_masters=False)
    return reduce_number(month + day.day, keep_masters=False)


def numerology(birth_date: dt.date, year: int) -> Result:
    """Life path, birthday number and the personal year for calendar `year`."""
    if not isinstance(birth_date, dt.date) or isinstance(birth_date, dt.datetime):
        raise InvalidBirthData("date", "expected a date")
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        raise InvalidBirthData("year", "expected a calendar year 1..9999")
    payload = {"input": {"date": birth_date.isoformat(), "year": year}}
    document: dict[str, Any] = {
        "birthday_number": birthday_number(birth_date),
        "input_hash": hash_document(NUMEROLOGY, payload, ()),
        "kind": NUMEROLOGY,
        "life_path": life_path(birth_date),
        "personal_year": personal_year(birth_date, year),
        "rules_version": RULES_VERSION,
        **payload,
    }
    return Result(document)
