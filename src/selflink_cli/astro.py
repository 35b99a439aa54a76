"""`selflink astro`: natal charts, synastry, composites, transits, numerology and place lookup.

Tables for people by default; `--json` prints the canonical (RFC 8785) JSON document followed by
one newline. `--svg FILE` also writes the chart wheel (a bi-wheel for synastry) to FILE before
anything is printed. Exit codes: 2 for usage mistakes and for inputs that need disambiguation
(an ambiguous place, a daylight-saving gap or overlap), 3 for bad input and for a FILE that
cannot be written.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from selflink_cli.astro_render import render_chart, render_numerology, render_places, render_result
from selflink_cli.errors import CliError, ExitCode
from selflink_cli.rewards_files import write_file_atomically
from selflink_core.astro import (
    AmbiguousLocalTime,
    AspectOptions,
    AstroError,
    BirthData,
    Chart,
    ChartOptions,
    CountryWithoutPlace,
    InvalidBirthData,
    InvalidOption,
    LoneCoordinate,
    MissingPlace,
    NeedsDisambiguation,
    NonexistentLocalTime,
    PlaceWithCoordinates,
    Result,
    TimeWithoutPlace,
    biwheel_svg,
    composite_chart,
    natal_chart,
    numerology,
    parse_birth,
    parse_moment,
    read_date,
    search_places,
    synastry,
    transit_aspect_options,
    transits,
    wheel_svg,
)
from selflink_core.astro.errors import AmbiguousPlace, UnknownPlace

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

app = typer.Typer(
    help=(
        "Natal charts, synastry, composites, transits and numerology, computed offline.\n\n"
        "Exit codes: 2 usage or needs disambiguation (ambiguous place, DST gap/overlap), "
        "3 bad input."
    ),
    no_args_is_help=True,
)

T = TypeVar("T")

DateOption = Annotated[str, typer.Option("--date", help="Local birth date, YYYY-MM-DD.")]
TimeOption = Annotated[
    str | None, typer.Option("--time", help="Local birth time HH:MM[:SS]; omit if unknown.")
]
ZoneOption = Annotated[
    str | None,
    typer.Option("--tz", help="IANA time zone; looked up from --lat/--lon when omitted."),
]
LatOption = Annotated[float | None, typer.Option("--lat", help="Latitude, -90..90 (north +).")]
LonOption = Annotated[float | None, typer.Option("--lon", help="Longitude, -180..180 (east +).")]
PlaceOption = Annotated[
    str | None,
    typer.Option("--place", help="City name or geonames:ID, instead of --lat/--lon/--tz."),
]
CountryOption = Annotated[
    str | None, typer.Option("--country", help="ISO 3166-1 alpha-2 code narrowing --place.")
]
FoldOption = Annotated[
    int | None,
    typer.Option(
        "--fold",
        min=0,
        max=1,
        help="0 or 1: which reading of a time a DST change skipped or repeated.",
    ),
]
OffsetOption = Annotated[
    str | None,
    typer.Option("--utc-offset", help="Explicit UTC offset like +02:00 for a DST gap or overlap."),
]
HouseOption = Annotated[
    str,
    typer.Option(
        "--house-system",
        help="placidus, koch, whole_sign, equal, porphyry, regiomontanus, campanus, "
        "alcabitius, topocentric or morinus.",
    ),
]
ZodiacOption = Annotated[str, typer.Option("--zodiac", help="tropical or sidereal.")]
AyanamsaOption = Annotated[
    str | None, typer.Option("--ayanamsa", help="Sidereal only; default lahiri.")
]
AspectsOption = Annotated[
    str, typer.Option("--aspects", help="major, or all to add the minor aspects.")
]
EphemerisOption = Annotated[
    str,
    typer.Option(
        "--ephemeris",
        envvar="SELFLINK_EPHEMERIS",
        help="swiss_ephemeris (the files shipped with SelfLink, or --ephemeris-path) or "
        "moshier (built in: no files, less precise, no Chiron).",
    ),
]
EphemerisPathOption = Annotated[
    str | None,
    typer.Option(
        "--ephemeris-path",
        envvar="SELFLINK_EPHEMERIS_PATH",
        help="Directory of other Swiss Ephemeris .se1 files (swiss_ephemeris only); "
        "the shipped files otherwise.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print canonical JSON instead.")]
SvgOption = Annotated[
    Path | None,
    typer.Option(
        "--svg",
        help="Also write the chart wheel as SVG to this file (replaced whole if it exists).",
    ),
]


_BIRTH_FLAGS = {
    "date": "date",
    "time": "time",
    "zone": "tz",
    "latitude": "lat",
    "longitude": "lon",
    "place": "place",
    "country": "country",
    "fold": "fold",
    "utc_offset": "utc-offset",
}
"""The core's birth fields by the options that set them, so errors name what was typed."""


def _local_time_message(exc: NonexistentLocalTime | AmbiguousLocalTime, prefix: str) -> str:
    """The core's advice in this command's options (`--with-fold 1`, not "fold 1")."""
    fold, offsets, offset = f"--{prefix}fold", exc.offsets, f"--{prefix}utc-offset"
    if isinstance(exc, NonexistentLocalTime):
        return (
            f"{exc.local} does not exist in {exc.zone} (clocks skipped it); give {fold} 0 to "
            f"read it at UTC{offsets[0]} or {fold} 1 for UTC{offsets[1]}, or {offset}"
        )
    return (
        f"{exc.local} happened twice in {exc.zone}; give {fold} 0 for the first "
        f"(UTC{offsets[0]}) or {fold} 1 for the second (UTC{offsets[1]}), or {offset}"
    )


def _about_birth(exc: AstroError, prefix: str) -> str:
    """A birth's error led by its option; the second person's says so (`--with-lat`)."""
    if isinstance(exc, NonexistentLocalTime | AmbiguousLocalTime):
        message = _local_time_message(exc, prefix)
    elif isinstance(exc, InvalidBirthData) and exc.field in _BIRTH_FLAGS:
        reason = exc.message.removeprefix(f"{exc.field}: ")
        message = f"--{prefix}{_BIRTH_FLAGS[exc.field]}: {reason}"
    elif isinstance(exc, AmbiguousPlace | UnknownPlace) and prefix:  # names the place already
        message = f"--{prefix}place: {exc.message}"
    else:
        message = exc.message
    return f"second person: {message}" if prefix else message


@contextmanager
def _astro_errors(birth_prefix: str | None = None) -> Iterator[None]:
    """Astro errors as one line; with `birth_prefix` ("" or "with-") about a birth's options."""
    try:
        yield
    except AstroError as exc:
        message = exc.message if birth_prefix is None else _about_birth(exc, birth_prefix)
        if isinstance(exc, AmbiguousPlace):
            message += ": " + "; ".join(
                f"geonames:{place.geonameid} {place.name}, {place.admin1} {place.country} "
                f"({place.zone}, population {place.population})"
                for place in exc.candidates
            )
        usage = isinstance(exc, NeedsDisambiguation | InvalidOption)
        raise CliError(message, ExitCode.USAGE if usage else ExitCode.BAD_INPUT) from None


def _guarded(function: Callable[[], T]) -> T:
    with _astro_errors():
        return function()


def _birth(
    date: str,
    time: str | None,
    zone: str | None,
    latitude: float | None,
    longitude: float | None,
    *,
    place: str | None,
    country: str | None,
    fold: int | None,
    utc_offset: str | None,
    prefix: str = "",
) -> BirthData:
    """The birth a chart is cast for; which options go together is a usage mistake."""
    with _astro_errors(prefix):
        try:
            return parse_birth(
                date=date,
                time=time,
                zone=zone,
                latitude=latitude,
                longitude=longitude,
                place=place,
                country=country,
                fold=fold,
                utc_offset=utc_offset,
            ).for_chart()
        except PlaceWithCoordinates:
            raise CliError(
                f"use either --{prefix}place or --{prefix}lat/--{prefix}lon/--{prefix}tz, not both",
                ExitCode.USAGE,
            ) from None
        except (MissingPlace, TimeWithoutPlace, LoneCoordinate):
            raise CliError(
                f"give --{prefix}place, or --{prefix}lat and --{prefix}lon", ExitCode.USAGE
            ) from None
        except CountryWithoutPlace:
            raise CliError(
                f"--{prefix}country narrows --{prefix}place only", ExitCode.USAGE
            ) from None


def _check_ephemeris_folder(path: str) -> None:
    """Say what is wrong with the folder itself; the engine would only find no data for the date."""
    folder = Path(path)
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise CliError(f"--ephemeris-path: {path} {reason}")
    if not any(folder.glob("*.se1")):
        raise CliError(f"--ephemeris-path: {path} holds no Swiss Ephemeris files (*.se1)")


def _options(
    house_system: str,
    zodiac: str,
    ayanamsa: str | None,
    aspects: str,
    ephemeris: str,
    ephemeris_path: str | None,
) -> ChartOptions:
    """Chart options; `SELFLINK_EPHEMERIS_PATH` in the environment does not stop a request
    for Moshier, which reads no files."""
    options = _guarded(
        lambda: ChartOptions(
            house_system=house_system,
            zodiac=zodiac,
            ayanamsa=ayanamsa,
            aspects=AspectOptions(aspects=aspects),
            ephemeris=ephemeris,
            ephemeris_path=None if ephemeris == "moshier" else ephemeris_path,
        )
    )
    if options.ephemeris_path:
        _check_ephemeris_folder(options.ephemeris_path)
    return options


def _natal(birth: BirthData, options: ChartOptions, prefix: str = "") -> Chart:
    """The chart of a birth; a wall-clock time to settle is asked of its own options."""
    with _astro_errors(prefix):
        return natal_chart(birth, options)


def _write_svg(path: Path | None, draw: Callable[[], str]) -> None:
    """Write the wheel before printing anything, so a failed write leaves no partial output."""
    if path is not None:
        write_file_atomically(path, draw().encode())


def _emit(result: Result, as_json: bool, render: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        typer.echo(result.to_json().decode())
    else:
        render(result.to_dict())


@app.command()
def chart(
    *,
    date: DateOption,
    time: TimeOption = None,
    tz: ZoneOption = None,
    lat: LatOption = None,
    lon: LonOption = None,
    place: PlaceOption = None,
    country: CountryOption = None,
    fold: FoldOption = None,
    utc_offset: OffsetOption = None,
    house_system: HouseOption = "placidus",
    zodiac: ZodiacOption = "tropical",
    ayanamsa: AyanamsaOption = None,
    aspects: AspectsOption = "major",
    ephemeris: EphemerisOption = "swiss_ephemeris",
    ephemeris_path: EphemerisPathOption = None,
    json: JsonOption = False,
    svg: SvgOption = None,
) -> None:
    """A natal chart: bodies, houses, angles, aspects and summaries."""
    birth = _birth(
        date, time, tz, lat, lon, place=place, country=country, fold=fold, utc_offset=utc_offset
    )
    options = _options(house_system, zodiac, ayanamsa, aspects, ephemeris, ephemeris_path)
    natal = _natal(birth, options)
    _write_svg(svg, lambda: wheel_svg(natal.to_dict()))
    _emit(natal, json, render_chart)


WithDate = Annotated[str, typer.Option("--with-date", help="The other person's birth date.")]
WithTime = Annotated[str | None, typer.Option("--with-time", help="The other person's time.")]
WithZone = Annotated[str | None, typer.Option("--with-tz", help="The other person's zone.")]
WithLat = Annotated[float | None, typer.Option("--with-lat", help="The other person's latitude.")]
WithLon = Annotated[float | None, typer.Option("--with-lon", help="The other person's longitude.")]
WithPlace = Annotated[str | None, typer.Option("--with-place", help="The other person's place.")]
WithCountry = Annotated[
    str | None, typer.Option("--with-country", help="Country narrowing --with-place.")
]
WithFold = Annotated[
    int | None, typer.Option("--with-fold", min=0, max=1, help="The other person's fold.")
]
WithOffset = Annotated[
    str | None, typer.Option("--with-utc-offset", help="The other person's UTC offset.")
]


@app.command(name="synastry")
def synastry_command(
    *,
    date: DateOption,
    with_date: WithDate,
    time: TimeOption = None,
    tz: ZoneOption = None,
    lat: LatOption = None,
    lon: LonOption = None,
    place: PlaceOption = None,
    country: CountryOption = None,
    fold: FoldOption = None,
    utc_offset: OffsetOption = None,
    with_time: WithTime = None,
    with_tz: WithZone = None,
    with_lat: WithLat = None,
    with_lon: WithLon = None,
    with_place: WithPlace = None,
    with_country: WithCountry = None,
    with_fold: WithFold = None,
    with_utc_offset: WithOffset = None,
    house_system: HouseOption = "placidus",
    zodiac: ZodiacOption = "tropical",
    ayanamsa: AyanamsaOption = None,
    aspects: AspectsOption = "major",
    ephemeris: EphemerisOption = "swiss_ephemeris",
    ephemeris_path: EphemerisPathOption = None,
    composite: Annotated[
        bool, typer.Option("--composite", help="Show the midpoint composite chart instead.")
    ] = False,
    json: JsonOption = False,
    svg: Annotated[
        Path | None,
        typer.Option(
            "--svg",
            help="Also write an SVG bi-wheel (first person inside, second outside, the aspects "
            "between them) to this file; with --composite, the composite chart's wheel.",
        ),
    ] = None,
) -> None:
    """Synastry between two people (the --with-* options describe the second)."""
    first = _birth(
        date, time, tz, lat, lon, place=place, country=country, fold=fold, utc_offset=utc_offset
    )
    second = _birth(
        with_date,
        with_time,
        with_tz,
        with_lat,
        with_lon,
        place=with_place,
        country=with_country,
        fold=with_fold,
        utc_offset=with_utc_offset,
        prefix="with-",
    )
    options = _options(house_system, zodiac, ayanamsa, aspects, ephemeris, ephemeris_path)
    one, two = _natal(first, options), _natal(second, options, "with-")
    if composite:
        mixed = _guarded(lambda: composite_chart(one, two, options.aspects))
        _write_svg(svg, lambda: wheel_svg(mixed.to_dict()))
        _emit(mixed, json, render_chart)
    else:
        relation = _guarded(lambda: synastry(one, two, options.aspects))
        _write_svg(svg, lambda: biwheel_svg(one.to_dict(), two.to_dict(), relation.to_dict()))
        _emit(relation, json, render_result)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@app.command(name="transits")
def transits_command(
    *,
    date: DateOption,
    time: TimeOption = None,
    tz: ZoneOption = None,
    lat: LatOption = None,
    lon: LonOption = None,
    place: PlaceOption = None,
    country: CountryOption = None,
    fold: FoldOption = None,
    utc_offset: OffsetOption = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Moment of the transits, ISO 8601 with offset; default now."),
    ] = None,
    house_system: HouseOption = "placidus",
    zodiac: ZodiacOption = "tropical",
    ayanamsa: AyanamsaOption = None,
    aspects: AspectsOption = "major",
    ephemeris: EphemerisOption = "swiss_ephemeris",
    ephemeris_path: EphemerisPathOption = None,
    json: JsonOption = False,
) -> None:
    """Transits of a moment (default: now) to a natal chart."""
    birth = _birth(
        date, time, tz, lat, lon, place=place, country=country, fold=fold, utc_offset=utc_offset
    )
    options = _options(house_system, zodiac, ayanamsa, aspects, ephemeris, ephemeris_path)
    moment = _guarded(lambda: parse_moment(at)) if at is not None else _now()
    natal = _natal(birth, options)
    result = _guarded(
        lambda: transits(
            natal,
            moment,
            transit_aspect_options(aspects),
            ephemeris=options.ephemeris,
            ephemeris_path=options.ephemeris_path,
        )
    )
    _emit(result, json, render_result)


@app.command(name="numerology")
def numerology_command(
    *,
    date: DateOption,
    year: Annotated[
        int | None, typer.Option("--year", help="Year of the personal year; default this year.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Life path, birthday number and personal year (the "matrix" numbers)."""
    birth_date = _guarded(lambda: read_date(date, "--date"))
    target = year if year is not None else _now().year
    _emit(_guarded(lambda: numerology(birth_date, target)), json, render_numerology)


@app.command(name="place")
def place_command(
    name: Annotated[str, typer.Argument(help="City name, or geonames:ID.")],
    country: Annotated[
        str | None,
        typer.Option("--country", help="ISO 3166-1 alpha-2 code: only places in that country."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Look a place up in the bundled gazetteer: every match, most populous first."""
    matches = _guarded(lambda: search_places(name, country))
    if not matches:
        where = f" in {country}" if country else ""
        raise CliError(f"no place named {name!r}{where} in the gazetteer", ExitCode.BAD_INPUT)
    if json:
        from selflink_core.astro import canonical_json  # noqa: PLC0415

        typer.echo(canonical_json([place.to_dict() for place in matches]).decode())
    else:
        render_places(matches)
