"""`selflink match`: person files, the explanation, canonical JSON and the exit codes."""

import json
import re
from pathlib import Path

import pytest

from selflink_cli.main import app
from selflink_core.astro import canonical_json
from tests.cli.astro_helpers import BERLIN, outcome, runner

ADA = {
    "birth": {"date": "1990-05-17", "time": "14:30", "place": "Berlin", "country": "DE"},
    "profile": {
        "values": ["honesty", "family", "humor"],
        "interests": ["hiking", "books", "music"],
        "love_languages": ["quality_time"],
        "lifestyle": {"smoking": "never", "sleep": "early_bird"},
    },
}
BRUNO = {
    "birth": {
        "date": "1988-11-02",
        "time": "06:05:30",
        "latitude": 48.8566,
        "longitude": 2.3522,
        "zone": "Europe/Paris",
    },
    "profile": {"values": ["honesty", "adventure"], "interests": ["hiking", "film"]},
}


def write(folder: Path, name: str, document: object) -> str:
    path = folder / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def run(*args: str) -> tuple[int, str, str]:
    return outcome("match", *args)


def test_the_explanation_names_total_components_and_reasons(tmp_path: Path) -> None:
    code, out, err = run(
        "score", write(tmp_path, "ada.json", ADA), write(tmp_path, "bruno.json", BRUNO)
    )
    assert (code, err) == (0, "")
    for expected in (
        "ada.json and bruno.json",
        "/ 100",
        "match-1",
        "synastry",
        "Why",
        "You both value honesty",
        "Aspects",
    ):
        assert expected in out


def test_json_is_canonical_symmetric_and_stable(tmp_path: Path) -> None:
    ada, bruno = write(tmp_path, "ada.json", ADA), write(tmp_path, "bruno.json", BRUNO)
    code, out, _ = run("score", ada, bruno, "--json")
    assert code == 0
    document = json.loads(out)
    assert canonical_json(document) == out.removesuffix("\n").encode()
    assert document["kind"] == "match"
    assert document["coverage"] == ["synastry", "elements", "numerology", "profile"]
    assert len(document["reasons"]) == 3
    backward = json.loads(run("score", bruno, ada, "--json")[1])
    for key in ("total", "scores", "coverage", "lens"):
        assert backward[key] == document[key]
    assert run("score", ada, bruno, "--json")[1] == out


def test_a_chart_document_scores_like_its_birth(tmp_path: Path) -> None:
    berlin = ["--date", "1990-05-17", "--time", "14:30", "--place", "Berlin", "--country", "DE"]
    charted = runner.invoke(app, ["astro", "chart", *berlin, "--json"])
    assert charted.exit_code == 0
    chart = charted.stdout
    bruno = write(tmp_path, "bruno.json", BRUNO)
    from_birth = json.loads(
        run("score", write(tmp_path, "ada.json", {"birth": ADA["birth"]}), bruno, "--json")[1]
    )
    bare_chart = json.loads(run("score", write(tmp_path, "chart.json", chart), bruno, "--json")[1])
    wrapped = json.loads(
        run(
            "score", write(tmp_path, "wrapped.json", {"chart": json.loads(chart)}), bruno, "--json"
        )[1]
    )
    assert from_birth == bare_chart == wrapped


def test_a_bare_birth_date_gives_numerology_only(tmp_path: Path) -> None:
    only_date = write(tmp_path, "date.json", {"birth": {"date": "1984-11-29"}})
    code, out, _ = run("score", only_date, write(tmp_path, "ada.json", ADA), "--json")
    assert code == 0
    assert json.loads(out)["coverage"] == ["numerology"]
    code, out, _ = run("score", only_date, write(tmp_path, "empty.json", {}))
    assert code == 0
    assert "Not covered" in out
    assert "0.00 / 100" in out


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        ("{not json", 3, "not JSON"),
        ("[1, 2]", 3, "expected a JSON object"),
        ({"birth": {"date": "1990-13-01"}}, 3, "date"),
        ({"birth": {"time": "10:00"}}, 3, "birth.date: required"),
        ({"birth": {"date": "1990-05-17", "time": "10:00"}}, 3, "needs a place"),
        ({"birth": {"date": "1990-05-17", "place": "Qwxzville"}}, 3, "no place named 'Qwxzville'"),
        ({"birth": {"date": "1990-05-17", "place": "Paris"}}, 2, "geonames:2988507 Paris"),
        (
            {"birth": {"date": "2021-03-28", "time": "02:30", "place": "Berlin", "country": "DE"}},
            2,
            "does not exist",
        ),
        (
            {"birth": {"date": "1990-05-17", "place": "Berlin", "latitude": 1, "longitude": 2}},
            3,
            "either place",
        ),
        (
            {"birth": {"date": "1990-05-17", "latitude": "north"}},
            3,
            "birth.latitude: expected a number",
        ),
        ({"birth": {"date": "1990-05-17", "city": "Berlin"}}, 3, "unknown field 'city'"),
        ({"birth": {"date": "1990-05-17"}, "chart": {}}, 3, "either birth or chart"),
        ({"chart": {"kind": "synastry"}}, 3, "not a natal chart"),
        ({"profile": {"values": ["wealth"]}}, 3, "values: 'wealth' is not one of"),
        ({"friends": []}, 3, "unknown field 'friends'"),
    ],
)
def test_bad_files_fail_with_one_line_and_the_documented_code(
    tmp_path: Path, content, code, message
) -> None:
    bad = write(tmp_path, "bad.json", content)
    status, out, err = run("score", bad, write(tmp_path, "ada.json", ADA))
    assert status == code
    assert out == ""
    assert err.startswith(f"error: {bad}: ")
    assert err.count("\n") == 1
    assert message in err


def test_a_sidereal_chart_is_refused(tmp_path: Path) -> None:
    chart = runner.invoke(
        app,
        ["astro", "chart", *BERLIN, "--zodiac", "sidereal", "--json"],
    ).stdout
    status, _, err = run(
        "score", write(tmp_path, "chart.json", chart), write(tmp_path, "ada.json", ADA)
    )
    assert status == 3
    assert "tropical" in err


def test_missing_files_and_arguments(tmp_path: Path) -> None:
    status, _, err = run("score", str(tmp_path / "nobody.json"), write(tmp_path, "ada.json", ADA))
    assert status == 3
    assert "cannot read the person file" in err
    status, _, err = run("score", str(tmp_path), write(tmp_path, "ada.json", ADA))
    assert (status, "is a folder" in err) == (3, True)
    assert run("score", write(tmp_path, "ada.json", ADA))[0] == 2


def test_vocabulary_lists_the_allowed_answers() -> None:
    code, out, _ = run("vocabulary")
    assert code == 0
    assert "love_languages" in out
    assert "lifestyle.smoking" in out
    code, out, _ = run("vocabulary", "--json")
    assert json.loads(out)["limits"]["values"] == 5


def test_the_worked_example_files_of_the_docs_score_as_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "matching.md").read_text(encoding="utf-8")
    people = doc.split("<!-- example:people -->")[1].split("<!-- /example:people -->")[0]
    files = re.findall(r"`([\w.-]+\.json)`:\n\n```json\n(.*?)```", people, re.DOTALL)
    assert [name for name, _ in files] == ["ada.json", "lisbon.json"]
    for name, text in files:
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    code, out, err = run("score", "ada.json", "lisbon.json")
    assert (code, err) == (0, "")
    session = doc.split("$ selflink match score ada.json lisbon.json\n")[1].split("```")[0]
    for line in session.splitlines():
        if line != "…":
            assert line.strip() in out
