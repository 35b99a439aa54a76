"""SelfLink's astrology engine: natal charts, synastry, composites, transits and numerology.

Everything here is deterministic: results are canonical JSON documents carrying
`rules_version` and an `input_hash` of the normalized inputs, so equal inputs give equal bytes.
The engine reads only data shipped in installed packages (gazetteer, zone polygons, tzdata, the
Swiss Ephemeris files for 1800-2399) and, when a caller passes a directory, other Swiss
Ephemeris files; it never reads the clock.

Thread safety: all calls into pyswisseph are serialized by one process-wide lock and set every
piece of pyswisseph's global state they depend on, so concurrent threads get the same results
as sequential calls. Throughput does not grow with threads; use processes to scale.

Birth data as people give it (plain strings and numbers) goes through `parse_birth`, the one
set of input rules the CLI and the API share; its typed errors let each surface word them.

Typical use by the API layer::

    birth = BirthData(date=..., time=..., latitude=..., longitude=..., zone="Europe/Paris")
    key = input_hash(birth, options)          # cache lookup without computing
    chart = natal_chart(birth, options)       # Chart; chart.to_json() -> canonical bytes
    chart = Chart.from_dict(json.loads(cached_bytes))
    synastry(chart, other), composite_chart(chart, other), transits(chart, at=now)
    numerology(birth.date, year=now.year)
    wheel_svg(chart.to_dict()), biwheel_svg(first, second, synastry_document)  # SVG text

Errors are `AstroError` subclasses: `InvalidInput` (with `field`; `InvalidBirthData` has one
subclass for each rule of which fields go together), `UnknownPlace`,
`NeedsDisambiguation` (`AmbiguousPlace`, `NonexistentLocalTime`, `AmbiguousLocalTime`, with
`choices`) and `EphemerisUnavailable`; each has `to_dict()` for an HTTP 422 body.
"""

from selflink_core.astro.canonical import canonical_json
from selflink_core.astro.chart import Chart, Result, input_hash, natal_chart
from selflink_core.astro.ephemeris import (
    EPHEMERIDES,
    MOSHIER,
    SWISS_EPHEMERIS,
    EphemerisFilesCorrupt,
    EphemerisSource,
)
from selflink_core.astro.errors import (
    AmbiguousLocalTime,
    AmbiguousPlace,
    AstroError,
    CountryWithoutPlace,
    EphemerisUnavailable,
    InvalidBirthData,
    InvalidInput,
    InvalidOption,
    LoneCoordinate,
    MissingPlace,
    NeedsDisambiguation,
    NonexistentLocalTime,
    PlaceWithCoordinates,
    TimeWithoutPlace,
    UnknownPlace,
)
from selflink_core.astro.features import (
    ChartFeatures,
    batch_features,
    birth_features,
    chart_features,
    features_frame,
)
from selflink_core.astro.inputs import (
    AspectOptions,
    BirthData,
    BirthForm,
    ChartOptions,
    ParsedBirth,
    parse_birth,
    parse_date,
    parse_moment,
    parse_time,
    parse_utc_offset,
    read_date,
    transit_aspect_options,
)
from selflink_core.astro.numerology import numerology
from selflink_core.astro.places import Place, resolve_place, search_places, zone_at
from selflink_core.astro.synastry import composite_chart, synastry
from selflink_core.astro.transits import transits
from selflink_core.astro.wheel import biwheel_svg, wheel_svg
from selflink_core.astro.zodiac import AYANAMSAS, HOUSE_SYSTEMS, RULES_VERSION

__all__ = [
    "AYANAMSAS",
    "EPHEMERIDES",
    "HOUSE_SYSTEMS",
    "MOSHIER",
    "RULES_VERSION",
    "SWISS_EPHEMERIS",
    "AmbiguousLocalTime",
    "AmbiguousPlace",
    "AspectOptions",
    "AstroError",
    "BirthData",
    "BirthForm",
    "Chart",
    "ChartFeatures",
    "ChartOptions",
    "CountryWithoutPlace",
    "EphemerisFilesCorrupt",
    "EphemerisSource",
    "EphemerisUnavailable",
    "InvalidBirthData",
    "InvalidInput",
    "InvalidOption",
    "LoneCoordinate",
    "MissingPlace",
    "NeedsDisambiguation",
    "NonexistentLocalTime",
    "ParsedBirth",
    "Place",
    "PlaceWithCoordinates",
    "Result",
    "TimeWithoutPlace",
    "UnknownPlace",
    "batch_features",
    "birth_features",
    "biwheel_svg",
    "canonical_json",
    "chart_features",
    "composite_chart",
    "features_frame",
    "input_hash",
    "natal_chart",
    "numerology",
    "parse_birth",
    "parse_date",
    "parse_moment",
    "parse_time",
    "parse_utc_offset",
    "read_date",
    "resolve_place",
    "search_places",
    "synastry",
    "transit_aspect_options",
    "transits",
    "wheel_svg",
    "zone_at",
]
