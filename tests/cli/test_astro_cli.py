"""`selflink astro`: tables, canonical JSON and the documented exit codes."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from selflink_cli.main import app
from selflink_core.astro import canonical_json
from tests.cli.astro_helpers import BERLIN, in_berlin, outcome, runner


def run(*args: str) -> tuple[int, str, str]:
    return outcome("astro", *args)


def test_chart_table_names_the_assumptions() -> None:
    code, out, _ = run("chart", *BERLIN)
    assert code == 0
    for expected in (
        "Europe/Berlin",
        "UTC+02:00",
        "placidus",
        "swiss_ephemeris",
        "Taurus",
        "Chiron",
        "Aspects",
    ):
        assert expected in out


def test_the_ephemeris_is_the_shipped_files_unless_moshier_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = json.loads(run("chart", *BERLIN, "--json")[1])
    assert (default["ephemeris"], sorted(default["options"]["ephemeris_files"])) == (
        "swiss_ephemeris",
        ["seas_18.se1", "semo_18.se1", "sepl_18.se1"],
    )
    monkeypatch.setenv("SELFLINK_EPHEMERIS_PATH", "/nonexistent")
    code, out, _ = run(
        "transits", *BERLIN, "--ephemeris", "moshier", "--at", "2026-03-01T12:00:00Z", "--json"
    )
    assert code == 0
    transits = json.loads(out)
    assert (transits["ephemeris"], transits["options"]["ephemeris_files"]) == ("moshier", {})
    assert [warning["code"] for warning in transits["warnings"]] == ["chiron_unavailable"]
    assert run("chart", *BERLIN, "--ephemeris", "jpl")[0] == 2


def test_chart_json_is_canonical_and_carries_hash_and_version() -> None:
    code, out, _ = run("chart", *BERLIN, "--json")
    assert code == 0
    text = out.removesuffix("\n")
    document = json.loads(text)
    assert canonical_json(document) == text.encode()
    assert document["rules_version"] == "astro-1"
    assert len(document["input_hash"]) == 64
    assert run("chart", *BERLIN, "--json")[1] == out


def test_place_and_options() -> None:
    code, out, _ = run(
        "chart",
        "--date",
        "1990-05-17",
        "--place",
        "Paris",
        "--country",
        "FR",
        "--zodiac",
        "sidereal",
        "--house-system",
        "koch",
        "--aspects",
        "all",
        "--json",
    )
    assert code == 0
    document = json.loads(out)
    assert document["input"]["place"]["name"] == "Paris"
    assert document["options"]["ayanamsa"] == "lahiri"
    assert document["time_known"] is False


def test_ambiguous_place_is_a_usage_error_listing_candidates() -> None:
    code, out, err = run("chart", "--date", "1990-05-17", "--place", "Paris")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "geonames:2988507 Paris" in err
    assert "TX US" in err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (
            in_berlin("2021-03-28", "02:30"),
            2,
        ),
        (
            in_berlin("2021-10-31", "02:30"),
            2,
        ),
        (["--date", "1990-05-17", "--lat", "52.5"], 2),
        (["--date", "1990-05-17", "--place", "Berlin", "--lat", "52.5", "--lon", "1"], 2),
        (["--date", "1990-05-17", "--lat", "1", "--lon", "1", "--house-system", "egyptian"], 2),
        (["--date", "1990-05-17", "--lat", "1", "--lon", "1", "--ayanamsa", "lahiri"], 2),
        (["--date", "1790-05-17", "--lat", "1", "--lon", "1"], 3),
        (["--date", "1990-02-30", "--lat", "1", "--lon", "1"], 3),
        (["--date", "1990-05-17", "--lat", "95", "--lon", "1"], 3),
        (["--date", "1990-05-17", "--place", "Xyzzyville"], 3),
        (["--date", "1990-05-17", "--time", "25:00", "--lat", "1", "--lon", "1"], 3),
        (["--date", "1990-05-17", "--lat", "1", "--lon", "1", "--tz", "Nowhere/City"], 3),
    ],
)
def test_exit_codes(args: list[str], code: int) -> None:
    exit_code, _, err = run("chart", *args)
    assert exit_code == code
    assert err.startswith("error: ") or "Usage" in err


def test_gap_error_names_both_offsets_and_fold_settles_it() -> None:
    gap = in_berlin("2021-03-28", "02:30")
    _, _, err = run("chart", *gap)
    assert "UTC+01:00" in err
    assert "UTC+02:00" in err
    code, out, _ = run("chart", *gap, "--fold", "1", "--json")
    assert code == 0
    assert json.loads(out)["input"]["utc"] == "2021-03-28T00:30:00Z"


LATE_BERLIN = ["--date", "1990-05-17", "--lat", "52.5", "--lon", "13.4"]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            ["--with-date", "1991-01-01", "--with-lat", "95", "--with-lon", "10"],
            "error: second person: --with-lat: 95.0 is outside -90..90\n",
        ),
        (
            ["--with-date", "1991-02-30", "--with-lat", "50", "--with-lon", "10"],
            "error: second person: --with-date: '1991-02-30' is not a date: "
            "1991-02 has no day 30 (it has 28)\n",
        ),
        (
            ["--with-date", "1991-01-01", "--with-place", "Xyzzyville"],
            "error: second person: --with-place: no place named 'Xyzzyville' in the gazetteer\n",
        ),
    ],
)
def test_errors_about_the_second_birth_say_so(second: list[str], message: str) -> None:
    code, out, err = run("synastry", *BERLIN, *second)
    assert (code, out, err) == (3, "", message)


def test_first_birth_errors_name_its_options() -> None:
    _, _, err = run("chart", "--date", "1990-05-17", "--lat", "95", "--lon", "1")
    assert err == "error: --lat: 95.0 is outside -90..90\n"


@pytest.mark.parametrize(("command", "prefix"), [("chart", ""), ("synastry", "with-")])
def test_a_daylight_saving_gap_suggests_the_fold_option_of_that_birth(
    command: str, prefix: str
) -> None:
    gap = in_berlin("2021-03-28", "02:30")
    args = [*BERLIN, *(f"--with-{arg[2:]}" if arg.startswith("--") else arg for arg in gap)]
    code, _, err = run(command, *(gap if command == "chart" else args))
    assert code == 2
    assert f"give --{prefix}fold 0 to read it at UTC+01:00 or --{prefix}fold 1 for UTC+02:00" in err
    assert err.endswith(f"or --{prefix}utc-offset\n")
    assert err.startswith("error: second person: " if prefix else "error: 2021-03-28T02:30:00")
    code, _, _ = run(command, *(gap if command == "chart" else args), f"--{prefix}fold", "1")
    assert code == 0


def test_an_overlap_suggests_the_fold_option() -> None:
    _, _, err = run("chart", *in_berlin("2021-10-31", "02:30"))
    assert "give --fold 0 for the first (UTC+02:00) or --fold 1 for the second (UTC+01:00)" in err


def test_a_missing_or_empty_ephemeris_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    code, _, err = run("chart", *BERLIN, "--ephemeris-path", str(missing))
    assert (code, err) == (3, f"error: --ephemeris-path: {missing} does not exist\n")
    code, _, err = run("chart", *BERLIN, "--ephemeris-path", str(tmp_path))
    assert (code, err) == (
        3,
        f"error: --ephemeris-path: {tmp_path} holds no Swiss Ephemeris files (*.se1)\n",
    )
    afile = tmp_path / "file.se1"
    afile.write_bytes(b"")
    code, _, err = run("chart", *BERLIN, "--ephemeris-path", str(afile))
    assert (code, err) == (3, f"error: --ephemeris-path: {afile} is not a folder\n")


@pytest.mark.parametrize("command", ["chart", "numerology"])
def test_a_day_its_month_lacks_is_named(command: str) -> None:
    extra = [] if command == "numerology" else ["--lat", "1", "--lon", "1"]
    code, _, err = run(command, "--date", "1990-02-30", *extra)
    assert (code, err) == (
        3,
        "error: --date: '1990-02-30' is not a date: 1990-02 has no day 30 (it has 28)\n",
    )
    code, _, err = run(command, "--date", "2024-02-30", *extra)
    assert "2024-02 has no day 30 (it has 29)" in err
    code, _, err = run(command, "--date", "1990-5-17", *extra)
    assert err == "error: --date: '1990-5-17' is not a date like 1990-05-17\n"


@pytest.mark.parametrize(
    ("command", "option"),
    [("chart", "--fold"), ("synastry", "--fold"), ("synastry", "--with-fold")],
)
def test_a_fold_other_than_0_or_1_is_a_usage_error(command: str, option: str) -> None:
    other = ["--with-date", "1991-01-01", "--with-lat", "50", "--with-lon", "10"]
    code, out, err = run(command, *BERLIN, *(other if command == "synastry" else []), option, "2")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: invalid value for '{option}': ")
    assert len(err.splitlines()) == 1


def test_synastry_and_composite() -> None:
    other = [
        "--with-date",
        "1988-11-02",
        "--with-time",
        "06:05",
        "--with-place",
        "Paris",
        "--with-country",
        "FR",
    ]
    code, out, _ = run("synastry", *BERLIN, *other, "--json")
    assert code == 0
    assert json.loads(out)["kind"] == "synastry"
    code, out, _ = run("synastry", *BERLIN, *other, "--composite", "--json")
    assert code == 0
    assert json.loads(out)["kind"] == "composite_chart"
    code, out, _ = run("synastry", *BERLIN, *other)
    assert code == 0
    assert "Aspects" in out
    assert run("synastry", *BERLIN, "--with-date", "1988-11-02", "--with-place", "Paris")[0] == 2


def test_transits_at_a_given_moment_are_reproducible() -> None:
    code, out, _ = run("transits", *BERLIN, "--at", "2026-03-01T12:00:00Z", "--json")
    assert code == 0
    assert json.loads(out)["at"] == "2026-03-01T12:00:00Z"
    assert (
        hashlib.sha256(out.encode()).hexdigest()
        == hashlib.sha256(
            run("transits", *BERLIN, "--at", "2026-03-01T13:00:00+01:00", "--json")[1].encode()
        ).hexdigest()
    )
    assert run("transits", *BERLIN, "--at", "yesterday")[0] == 3
    code, out, _ = run("transits", *BERLIN)
    assert code == 0
    assert "transits at" in out


def test_numerology() -> None:
    code, out, _ = run("numerology", "--date", "1990-05-17", "--year", "2026", "--json")
    assert code == 0
    document = json.loads(out)
    assert (document["life_path"], document["birthday_number"], document["personal_year"]) == (
        5,
        8,
        5,
    )
    assert "Life path" in run("numerology", "--date", "1990-05-17")[1]
    assert run("numerology", "--date", "1990-13-01")[0] == 3


def test_place_lookup_lists_every_match() -> None:
    code, out, _ = run("place", "Paris", "--json")
    assert code == 0
    places = json.loads(out)
    assert len(places) > 1
    assert places[0]["country"] == "FR"
    code, out, _ = run("place", "Springfield", "--country", "US")
    assert code == 0
    assert "geonames:" in out
    assert run("place", "Xyzzyville")[0] == 3
    assert run("place", "Paris", "--country", "XX")[0] == 3


def test_place_table_keeps_ids_names_and_zones_whole_at_80_columns() -> None:
    done = subprocess.run(
        [Path(sys.executable).with_name("selflink"), "astro", "place", "Springfield"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert "…" not in done.stdout
    assert any(
        "geonames:4409896" in line and "Springfield" in line and "America/Chicago" in line
        for line in lines
    )
    assert "coordinates left out at this width; --json has every field" in done.stdout


def test_an_ambiguity_left_after_a_country_asks_for_an_id() -> None:
    code, _, err = run("chart", "--date", "1990-05-17", "--place", "Springfield", "--country", "US")
    assert code == 2
    assert err.startswith("error: 11 places are named 'Springfield' in US; use one of the geonames")
    assert "country code" not in err
    code, _, err = run("chart", "--date", "1990-05-17", "--place", "Springfield")
    assert code == 2
    assert "; add a country code or use one of the geonames ids listed: " in err


def test_the_chart_header_names_the_state_when_the_gazetteer_has_one() -> None:
    code, out, _ = run(
        "chart", "--date", "1990-05-17", "--time", "14:30", "--place", "geonames:4250542"
    )
    assert code == 0
    assert " at Springfield, IL US natal chart · " in " ".join(out.split())
    # A numeric admin1 code (Berlin's is 16) says nothing to a reader and stays out.
    code, out, _ = run(
        "chart", "--date", "1990-05-17", "--time", "14:30", "--place", "Berlin", "--country", "DE"
    )
    assert code == 0
    assert " at Berlin, DE natal chart · " in " ".join(out.split())


def test_place_help_describes_its_own_country_option() -> None:
    result = runner.invoke(app, ["astro", "place", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "narrowing --place" not in result.stdout
    assert "only places in that country" in result.stdout


def test_angles_are_written_alike_in_every_table() -> None:
    code, out, _ = run("chart", *BERLIN)
    assert code == 0
    aspects = out.split("Aspects (")[1]
    assert re.search(r"│ MC +│", aspects)
    assert not re.search(r"\bMc\b|\bIc\b", out)
