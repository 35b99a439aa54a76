"""docs/matching.md: its tables are the rules file's, and its worked example recomputes."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from selflink_core.astro import BirthData, birth_features, resolve_place
from selflink_core.matching import Person, ProfileAnswers, load_rules, score, vocabulary
from selflink_core.matching.scoring import centidegrees, separation

DOC = (Path(__file__).parents[3] / "docs" / "matching.md").read_text(encoding="utf-8")
RULES = load_rules()
TIMES = "\N{MULTIPLICATION SIGN}"


def section(name: str) -> str:
    found = re.search(f"<!-- {name} -->\n(.*?)<!-- /{name} -->", DOC, re.DOTALL)
    assert found is not None, name
    return found.group(1)


def table(name: str) -> list[list[str]]:
    lines = section(name).strip().splitlines()[2:]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]


def test_vocabulary_table() -> None:
    words = vocabulary()
    expected = [
        [part, f"up to {words.limits[part]}", ", ".join(words.words(part))]
        for part in ("values", "love_languages", "interests")
    ]
    expected += [
        [f"lifestyle.{question}", "one", ", ".join(options)]
        for question, options in words.lifestyle.items()
    ]
    assert table("table:vocabulary") == expected


def test_synastry_tables() -> None:
    synastry = RULES.synastry
    assert table("table:points") == [
        [name, str(weight)]
        for name, weight in zip(synastry.points, synastry.point_weights, strict=True)
    ]
    assert table("table:aspects") == [
        [a.name, str(a.angle), str(a.orb), str(a.value), a.verb] for a in synastry.aspects
    ]
    assert f"prior C = {synastry.prior} points" in DOC


@pytest.mark.parametrize(
    ("name", "labels", "cells"),
    [
        ("table:element_harmony", RULES.elements.elements, RULES.elements.element_harmony),
        ("table:modality_harmony", RULES.elements.modalities, RULES.elements.modality_harmony),
        ("table:numerology", [str(n) for n in range(1, 10)], RULES.numerology.table),
    ],
)
def test_harmony_tables(name, labels, cells) -> None:
    assert table(name) == [
        [label, *map(str, row)] for label, row in zip(labels, cells, strict=True)
    ]


def test_weights() -> None:
    assert table("table:profile_weights") == [
        [part, str(weight)]
        for part, weight in zip(
            ("values", "love_languages", "lifestyle", "interests"),
            RULES.profile_weights,
            strict=True,
        )
    ]
    for name, weight in zip(
        ("Synastry", "Elements", "Numerology", "Profile"), RULES.weights, strict=True
    ):
        assert f"### {name} (weight {weight})" in DOC
    weights = RULES.elements
    assert (
        f"half_up({weights.element_weight} {TIMES} element harmony + "
        f"{weights.modality_weight} {TIMES} modality harmony" in DOC
    )


def example_files() -> dict[str, dict]:
    """The worked example's person files: each file name and the JSON block after it."""
    found = re.findall(
        r"`([\w.-]+\.json)`:\n\n```json\n(.*?)```", section("example:people"), re.DOTALL
    )
    return {name: json.loads(text) for name, text in found}


def test_worked_example_shows_two_files_in_the_person_file_shape() -> None:
    files = example_files()
    assert list(files) == ["ada.json", "lisbon.json"]
    for document in files.values():
        assert set(document) == {"birth", "profile"}
    assert "$ selflink match score ada.json lisbon.json" in DOC


def example_people() -> tuple[Person, Person]:
    people = []
    for document in example_files().values():
        birth = document["birth"]
        time = dt.time.fromisoformat(birth["time"]) if "time" in birth else None
        data = BirthData.at_place(
            resolve_place(birth["place"], birth["country"]),
            dt.date.fromisoformat(birth["date"]),
            time,
        )
        people.append(
            Person(
                chart=birth_features(data), profile=ProfileAnswers.from_dict(document["profile"])
            )
        )
    return people[0], people[1]


def test_worked_example_features() -> None:
    first, second = example_people()
    rows = table("example:features")
    for name, mine, theirs in rows:
        for chart, cell in ((first.chart, mine), (second.chart, theirs)):
            value = getattr(chart, name)
            assert cell == ("—" if value is None else f"{value:.6f} ({centidegrees(value)})")


def test_worked_example_contacts() -> None:
    first, second = example_people()
    result = score(first, second)
    contacts = result.details["synastry"]["contacts"]
    rows = table("example:contacts")
    assert len(rows) == len(contacts)
    for row, contact in zip(rows, contacts, strict=True):
        yours, theirs, gap, aspect, orb, strength, weight, points = row
        assert (yours, theirs, aspect) == (contact["first"], contact["second"], contact["aspect"])
        expected_gap = separation(
            centidegrees(getattr(first.chart, yours)), centidegrees(getattr(second.chart, theirs))
        )
        assert int(gap) == expected_gap
        assert int(orb) == round(contact["orb"] * 100)
        assert int(strength) == round(contact["strength"] * 1000)
        assert int(weight) == contact["weight"]
        assert int(points) == round(contact["points"] * 1000)


def test_worked_example_result() -> None:
    result = score(*example_people())
    values = dict(table("example:result"))
    for name, value in result.scores.items():
        assert values[name] == f"{value:.2f}"
    assert values["total"] == f"{result.total:.2f}"
    assert values["ranking score"] == f"{result.ranking_score:.2f}"
    assert values["lens"] == result.lens
    shown = [values[f"reason {n}"] for n in (1, 2, 3)]
    assert shown == [f"{reason.impact:+.2f} {reason.text}" for reason in result.reasons]
    for reason in result.reasons:
        assert f"{reason.impact:+.2f}  {reason.text}" in DOC
