"""Numerology: the worked examples of docs/astro.md, and properties of the reduction."""

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selflink_core.astro import InvalidBirthData, numerology
from selflink_core.astro.numerology import personal_day, personal_year, reduce_number

DOCS = Path(__file__).parents[3] / "docs" / "astro.md"


def documented_examples() -> list[list[str]]:
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- numerology-examples -->(.*?)<!-- /numerology-examples -->", text, re.S)
    assert block is not None
    rows = [line for line in block.group(1).strip().splitlines()[2:] if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


@pytest.mark.parametrize("row", documented_examples(), ids=lambda row: row[0])
def test_documented_worked_examples(row: list[str]) -> None:
    birth, life, birthday, year, personal = row[:5]
    document = numerology(dt.date.fromisoformat(birth), int(year)).document
    assert (document["life_path"], document["birthday_number"], document["personal_year"]) == (
        int(life),
        int(birthday),
        int(personal),
    )


def test_the_examples_cover_every_master_number() -> None:
    assert {"11", "22", "33"} <= {row[1] for row in documented_examples()}


@given(st.integers(0, 10**6), st.booleans())
def test_reduction_ends_in_a_digit_or_a_kept_master(value: int, keep: bool) -> None:
    reduced = reduce_number(value, keep_masters=keep)
    allowed = set(range(10)) | ({11, 22, 33} if keep else set())
    assert reduced in allowed
    assert reduced % 9 == value % 9


@given(st.dates(), st.integers(1, 9999))
def test_numbers_are_in_range(date: dt.date, year: int) -> None:
    document = numerology(date, year).document
    assert document["life_path"] in {*range(1, 10), 11, 22, 33}
    assert document["birthday_number"] in {*range(1, 10), 11, 22}
    assert 1 <= document["personal_year"] <= 9


def test_year_must_be_a_calendar_year() -> None:
    with pytest.raises(InvalidBirthData):
        numerology(dt.date(1990, 1, 1), 0)


def test_personal_day_worked_example() -> None:
    # Personal year 5 (5 + 8 + 1 = 14 -> 5); month 5 + 12 = 17 -> 8; day 8 + 6 = 14 -> 5.
    assert personal_day(dt.date(1990, 5, 17), dt.date(2026, 12, 6)) == 5
    # Year 5 + 1 (January) = 6, then 6 + 31 -> 6 + 4 = 10 -> 1.
    assert personal_day(dt.date(1990, 5, 17), dt.date(2026, 1, 31)) == 1


@given(
    birth=st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    day=st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
)
def test_personal_day_is_the_personal_month_plus_the_day_reduced(
    birth: dt.date, day: dt.date
) -> None:
    number = personal_day(birth, day)
    assert 1 <= number <= 9
    month = reduce_number(personal_year(birth, day.year) + day.month, keep_masters=False)
    assert number == reduce_number(month + day.day, keep_masters=False)
