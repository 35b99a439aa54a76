"""`selflink match`: score two people from files, and list what profile answers may say.

Each person file is a JSON object: ``{"birth": {...}, "profile": {...}}``, or
``{"chart": <natal chart document>, "profile": {...}}``, or a natal chart document itself
(the output of ``selflink astro chart --json``); every part is optional. A birth is
``{"date", "time"?, "place"? + "country"? | "latitude" + "longitude" + "zone"?, "fold"?,
"utc_offset"?}``; a birth with only a date gives numerology alone. Exit codes: 2 for usage
mistakes and births that need disambiguation (ambiguous place, DST gap/overlap), 3 for
unreadable or invalid files.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.table import Table

from selflink_cli.console import console
from selflink_cli.errors import CliError, ExitCode
from selflink_core.astro import (
    AstroError,
    Chart,
    CountryWithoutPlace,
    LoneCoordinate,
    NeedsDisambiguation,
    ParsedBirth,
    PlaceWithCoordinates,
    TimeWithoutPlace,
    birth_features,
    canonical_json,
    chart_features,
    parse_birth,
)
from selflink_core.astro.errors import AmbiguousPlace
from selflink_core.matching import (
    COMPONENTS,
    MatchingError,
    MatchResult,
    Person,
    ProfileAnswers,
    score,
    vocabulary,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

app = typer.Typer(
    help=(
        "Compatibility of two people (rules match-1): synastry, elements, numerology and "
        "profile answers, with the reasons.\n\n"
        "Exit codes: 2 usage or needs disambiguation (ambiguous place, DST gap/overlap), "
        "3 unreadable or invalid input file."
    ),
    no_args_is_help=True,
)

_console = console()
PERSON_KEYS: Final = ("birth", "chart", "profile")
BIRTH_KEYS: Final = (
    "date",
    "time",
    "place",
    "country",
    "latitude",
    "longitude",
    "zone",
    "fold",
    "utc_offset",
)


@contextmanager
def _input_errors(path: Path) -> Iterator[None]:
    """Engine errors as one line naming the file."""
    try:
        yield
    except AmbiguousPlace as exc:
        listing = "; ".join(
            f"geonames:{place.geonameid} {place.name}, {place.admin1} {place.country}"
            for place in exc.candidates
        )
        raise CliError(f"{path}: {exc.message}: {listing}", ExitCode.USAGE) from None
    except NeedsDisambiguation as exc:
        raise CliError(f"{path}: {exc.message}", ExitCode.USAGE) from None
    except (AstroError, MatchingError) as exc:
        raise CliError(f"{path}: {exc.message}", ExitCode.BAD_INPUT) from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise CliError(f"{path}: is a folder, expected a person file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"{path}: cannot read the person file: {reason}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(document, dict):
        raise CliError(f"{path}: expected a JSON object")
    return document


def _check_text(birth: Mapping[str, Any], name: str, path: Path) -> None:
    value = birth.get(name)
    if value is not None and not isinstance(value, str):
        raise CliError(f"{path}: birth.{name}: expected a string")


def _check_number(birth: Mapping[str, Any], name: str, path: Path) -> None:
    value = birth.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise CliError(f"{path}: birth.{name}: expected a number")


def _birth_person(birth: object, profile: ProfileAnswers, path: Path) -> Person:
    if not isinstance(birth, dict):
        raise CliError(f"{path}: birth: expected an object")
    unknown = sorted(set(birth) - set(BIRTH_KEYS))
    if unknown:
        raise CliError(
            f"{path}: birth: unknown field {unknown[0]!r}; expected {', '.join(BIRTH_KEYS)}"
        )
    _check_text(birth, "date", path)
    if birth.get("date") is None:
        raise CliError(f"{path}: birth.date: required, like 1990-05-17")
    for name in ("time", "place", "country", "zone", "utc_offset"):
        _check_text(birth, name, path)
    for name in ("latitude", "longitude"):
        _check_number(birth, name, path)
    fold = birth.get("fold")
    if fold is not None and type(fold) is not int:
        raise CliError(f"{path}: birth.fold: expected 0 or 1")
    with _input_errors(path):
        parsed = _parsed_birth(birth, path)
        if parsed.located is None:
            return Person.from_birth_date(parsed.date, profile)
        return Person(chart=birth_features(parsed.located), profile=profile)


def _parsed_birth(birth: Mapping[str, Any], path: Path) -> ParsedBirth:
    """The birth by the engine's input rules (`BIRTH_KEYS` are its keywords), the rules on
    which fields go together worded for a person file."""
    try:
        return parse_birth(**birth)
    except TimeWithoutPlace:
        raise CliError(f"{path}: birth: a time or zone needs a place or coordinates") from None
    except PlaceWithCoordinates:
        raise CliError(f"{path}: birth: give either place or latitude/longitude/zone") from None
    except CountryWithoutPlace:
        raise CliError(f"{path}: birth.country narrows birth.place only") from None
    except LoneCoordinate:
        raise CliError(f"{path}: birth: give both latitude and longitude") from None


def _chart_person(document: object, profile: ProfileAnswers, path: Path) -> Person:
    if not isinstance(document, dict):
        raise CliError(f"{path}: chart: expected a natal chart object")
    with _input_errors(path):
        chart = Chart.from_dict(document)
    if chart.zodiac != ("tropical", None):
        raise CliError(f"{path}: chart: matching compares tropical charts, this one is sidereal")
    try:
        features = chart_features(chart)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CliError(f"{path}: chart: not a complete natal chart document") from None
    with _input_errors(path):
        return Person(chart=features, profile=profile)


def read_person(path: Path) -> Person:
    """A person from a file (see the module docstring for the shapes)."""
    document = _read_json(path)
    if document.get("kind") == "natal_chart":
        document = {"chart": {k: v for k, v in document.items() if k != "profile"}} | (
            {"profile": document["profile"]} if "profile" in document else {}
        )
    unknown = sorted(set(document) - set(PERSON_KEYS))
    if unknown:
        raise CliError(
            f"{path}: unknown field {unknown[0]!r}; expected birth, chart and/or profile"
        )
    if "birth" in document and "chart" in document:
        raise CliError(f"{path}: give either birth or chart, not both")
    with _input_errors(path):
        profile = ProfileAnswers.from_dict(document.get("profile") or {})
    if "birth" in document:
        return _birth_person(document["birth"], profile, path)
    if "chart" in document:
        return _chart_person(document["chart"], profile, path)
    return Person(profile=profile)


def _point_label(name: str) -> str:
    return "Midheaven" if name == "mc" else name.capitalize()


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render_result(result: MatchResult, first: str, second: str) -> None:
    document = result.to_dict()
    _console.print(
        f"[bold]{first}[/bold] and [bold]{second}[/bold]: "
        f"[bold]{_points(result.total)}[/bold] / 100"
    )
    facts = [f"rules {document['rules_version']}", f"lens {result.lens}"]
    facts.append("covered: " + (", ".join(result.coverage) or "nothing"))
    _console.print(" · ".join(facts))
    table = Table(title="Components")
    for column in ("Component", "Score", "Weight"):
        table.add_column(column, justify="left" if column == "Component" else "right")
    for name in COMPONENTS:
        table.add_row(name, _points(result.scores[name]), str(document["weights"][name]))
    _console.print(table)
    if result.reasons:
        _console.print("[bold]Why[/bold]")
        for reason in result.reasons:
            _console.print(f"  {reason.impact:+.2f}  {reason.text}", highlight=False)
    synastry = result.details["synastry"]
    if synastry and synastry["contacts"]:
        aspects = Table(
            title=f"Aspects (yours → theirs; harmonious {synastry['harmonious']}, "
            f"tense {synastry['tense']})"
        )
        for column in ("Yours", "Aspect", "Theirs", "Orb", "Strength", "Points"):
            aspects.add_column(
                column, justify="right" if column in {"Orb", "Strength", "Points"} else "left"
            )
        for contact in synastry["contacts"]:
            aspects.add_row(
                _point_label(contact["first"]),
                contact["aspect"],
                _point_label(contact["second"]),
                f"{contact['orb']:.2f}°",
                f"{contact['strength']:.3f}",
                f"{contact['points']:+.3f}",
            )
        _console.print(aspects)
    missing = [name for name in COMPONENTS if result.scores[name] is None]
    if missing:
        _console.print(
            f"Not covered (data missing on one side): {', '.join(missing)}; "
            f"recommendations rank this pair at {_points(result.ranking_score)}",
            highlight=False,
        )


FileArgument = Annotated[
    Path, typer.Argument(help="Person file: birth or chart, plus profile answers (JSON).")
]


@app.command(name="score")
def score_command(
    first: FileArgument,
    second: FileArgument,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as canonical JSON instead.")
    ] = False,
) -> None:
    """Compatibility of two people, told from the first one's side."""
    result = score(read_person(first), read_person(second))
    if json_output:
        typer.echo(result.to_json().decode())
    else:
        render_result(result, first.name, second.name)


@app.command(name="vocabulary")
def vocabulary_command(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print canonical JSON instead.")
    ] = False,
) -> None:
    """The words profile answers may use, and their limits."""
    document = vocabulary().to_dict()
    if json_output:
        typer.echo(canonical_json(document).decode())
        return
    limits = document["limits"]
    table = Table(title=f"Profile answers ({document['rules_version']})")
    table.add_column("Field")
    table.add_column("Choose")
    table.add_column("Words")
    for part in ("values", "love_languages", "interests"):
        table.add_row(part, f"up to {limits[part]}", ", ".join(document[part]))
    for question, options in document["lifestyle"].items():
        table.add_row(f"lifestyle.{question}", "one", ", ".join(options))
    _console.print(table)
