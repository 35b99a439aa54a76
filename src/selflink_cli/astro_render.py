"""Rich tables for `selflink astro` results (the JSON documents are the source of truth)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from selflink_cli.console import console

if TYPE_CHECKING:
    from collections.abc import Sequence

    from selflink_core.astro import Place

_console = console()


def _dms(degrees: float) -> str:
    """26.343941 -> 26°20'38\"."""
    total = round(degrees * 3600)
    whole, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{whole:2d}°{minutes:02d}'{seconds:02d}\""


ABBREVIATIONS = {"mc": "MC", "ic": "IC"}
"""Points whose usual names are abbreviations, written the same in every table."""


def _label(name: str) -> str:
    return ABBREVIATIONS.get(name) or name.replace("_", " ").title()


def _position(record: dict[str, Any]) -> str:
    return f"{_dms(record['degree_in_sign'])} {_label(record['sign'])}"


def _place_name(place: dict[str, Any]) -> str:
    """`Springfield, IL US`; a numeric admin1 code (Berlin's is 16) says nothing: left out."""
    admin1 = place.get("admin1") or ""
    region = f"{admin1} " if admin1 and not admin1.isdigit() else ""
    return f"{place['name']}, {region}{place['country']}"


def _header(document: dict[str, Any]) -> None:
    source = document.get("input")
    if source is not None:
        place = source["place"]
        where = _place_name(place) if place else f"{source['latitude']}, {source['longitude']}"
        when = f"{source['date']} {source['time'] or '(time unknown)'}"
        _console.print(
            f"[bold]{when}[/bold] {source['zone']} (UTC{source['utc_offset']}, "
            f"{source['utc']}) at {where}"
        )
    options = document.get("options", {})
    facts = [
        f"{document['kind'].replace('_', ' ')}",
        f"rules {document['rules_version']}",
    ]
    if "zodiac" in options:
        zodiac = options["zodiac"]
        if options.get("ayanamsa"):
            zodiac += f" ({options['ayanamsa']})"
        facts.append(zodiac)
    if document.get("house_system_used"):
        facts.append(f"houses {document['house_system_used']}")
    if "ephemeris" in document:
        facts.append(f"ephemeris {document['ephemeris']}")
    _console.print(" · ".join(facts))
    _console.print(f"input hash {document['input_hash']}")


def _bodies(document: dict[str, Any], title: str) -> None:
    table = Table(title=title)
    for column in ("Body", "Position", "Longitude", "Latitude", "Speed", "House", "Rx"):
        table.add_column(column, justify="left" if column in {"Body", "Position"} else "right")
    for body in document["bodies"]:
        table.add_row(
            _label(body["name"]),
            _position(body),
            f"{body['longitude']:.6f}",
            f"{body['latitude']:.6f}",
            "" if body["speed"] is None else f"{body['speed']:.6f}",
            "" if body["house"] is None else str(body["house"]),
            "R" if body["retrograde"] else "",
        )
    _console.print(table)


def _angles_and_houses(document: dict[str, Any]) -> None:
    angles = document.get("angles")
    if angles:
        table = Table(title="Angles")
        table.add_column("Angle")
        table.add_column("Position")
        table.add_column("Longitude", justify="right")
        for name in ("ascendant", "mc", "descendant", "ic", "vertex"):
            record = angles[name]
            table.add_row(
                _label(name),
                _position(record),
                f"{record['longitude']:.6f}",
            )
        _console.print(table)
    houses = document.get("houses")
    if houses:
        table = Table(title="House cusps")
        table.add_column("House", justify="right")
        table.add_column("Cusp")
        for cusp in houses:
            table.add_row(str(cusp["house"]), _position(cusp))
        _console.print(table)


def _aspects(document: dict[str, Any], first: str, second: str) -> None:
    table = Table(title=f"Aspects ({len(document['aspects'])})")
    for column in (first, "Aspect", second, "Orb", "Motion"):
        table.add_column(column)
    for aspect in document["aspects"]:
        motion = {True: "applying", False: "separating", None: ""}[aspect["applying"]]
        table.add_row(
            _label(aspect["first"]),
            aspect["aspect"],
            _label(aspect["second"]),
            _dms(aspect["orb"]).strip(),
            motion,
        )
    _console.print(table)


def _summary(document: dict[str, Any]) -> None:
    summary = document.get("summary")
    if not summary:
        return
    elements = ", ".join(f"{name} {count}" for name, count in summary["elements"].items())
    modalities = ", ".join(f"{name} {count}" for name, count in summary["modalities"].items())
    _console.print(f"Elements: {elements}")
    _console.print(f"Modalities: {modalities}")
    ruler = summary["chart_ruler"]
    if ruler:
        _console.print(
            f"Chart ruler ({_label(ruler['sign'])} rising): {_label(ruler['traditional'])}"
            f" (traditional), {_label(ruler['modern'])} (modern)"
        )
    phase = summary["moon_phase"]
    _console.print(
        f"Moon phase: {_label(phase['name'])}, {phase['angle']:.2f}° from the Sun, "
        f"{phase['illumination'] * 100:.1f}% lit"
    )


def _warnings(document: dict[str, Any]) -> None:
    for item in document.get("warnings", ()):
        _console.print(f"[yellow]warning[/yellow] {item['code']}: {item['message']}")


def render_chart(document: dict[str, Any]) -> None:
    _header(document)
    _bodies(document, "Bodies")
    _angles_and_houses(document)
    _aspects(document, "Point", "Point")
    _summary(document)
    _warnings(document)


def render_result(document: dict[str, Any]) -> None:
    """Synastry or transits."""
    _header(document)
    if document["kind"] == "transits":
        _console.print(f"transits at {document['at']} to chart {document['natal_input_hash']}")
        _bodies(document, "Transiting bodies (natal houses)")
        _aspects(document, "Transiting", "Natal")
    else:
        _aspects(document, "First", "Second")
        for key, title in (
            ("first_in_second_houses", "First person's bodies in the second's houses"),
            ("second_in_first_houses", "Second person's bodies in the first's houses"),
        ):
            overlay = document[key]
            if overlay:
                placed = ", ".join(f"{_label(name)} {house}" for name, house in overlay.items())
                _console.print(f"{title}: {placed}")
    _warnings(document)


def render_numerology(document: dict[str, Any]) -> None:
    table = Table(title=f"Numerology for {document['input']['date']}")
    table.add_column("Number")
    table.add_column("Value", justify="right")
    table.add_row("Life path", str(document["life_path"]))
    table.add_row("Birthday number", str(document["birthday_number"]))
    table.add_row(f"Personal year {document['input']['year']}", str(document["personal_year"]))
    _console.print(table)


PLACE_COLUMNS = ("Id", "Name", "Where", "Coordinates", "Zone", "Population")
OPTIONAL_PLACE_COLUMNS = ("Coordinates", "Population")
"""Left out, in this order, when the table would not fit the terminal (`--json` has them)."""


def _table_width(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> int:
    """Width of a boxed table showing `columns` unwrapped: each cell padded 1, plus the rules."""
    return 1 + sum(3 + max(len(column), *(len(row[column]) for row in rows)) for column in columns)


def render_places(places: Sequence[Place]) -> None:
    """Every match, one line each: the id, name and zone are never cut, whatever the width."""
    rows = [
        {
            "Id": f"geonames:{place.geonameid}",
            "Name": place.name,
            "Where": f"{place.admin1} {place.country}",
            "Coordinates": f"{place.latitude:.4f}, {place.longitude:.4f}",
            "Zone": place.zone,
            "Population": f"{place.population:,}",
        }
        for place in places
    ]
    columns = list(PLACE_COLUMNS)
    left_out = []
    for column in OPTIONAL_PLACE_COLUMNS:
        if _table_width(columns, rows) <= _console.width:
            break
        columns.remove(column)
        left_out.append(column.lower())
    table = Table(title=f"{len(places)} match{'es' if len(places) != 1 else ''}")
    for column in columns:
        table.add_column(
            column,
            justify="right" if column == "Population" else "left",
            no_wrap=column != "Name",
            overflow="fold",
        )
    for row in rows:
        table.add_row(*(row[column] for column in columns))
    if left_out:
        table.caption = f"{' and '.join(left_out)} left out at this width; --json has every field"
    _console.print(table)
