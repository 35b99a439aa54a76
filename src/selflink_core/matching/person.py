"""What matching knows of one person, and the row the API stores for it.

A person has chart features (from `selflink_core.astro`: longitudes, element and modality
counts, life path), or only a life path when just the birth date is known, or neither; and
profile answers, possibly empty. The stored row (`MATCH_SCHEMA`) is the astro feature row
followed by the encoded answers; `match_frame` builds rows for a batch (the precompute job),
`Person.from_row` reads one back for a pairwise score.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from selflink_core.astro import BirthData, ChartFeatures, ChartOptions, batch_features
from selflink_core.astro.features import FEATURE_SCHEMA
from selflink_core.astro.numerology import life_path as life_path_of
from selflink_core.matching.errors import InvalidPerson
from selflink_core.matching.profile import EMPTY_PROFILE, UNANSWERED, ProfileAnswers, ProfileCode
from selflink_core.matching.rules import LIFE_PATHS, SET_PARTS, load_rules

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

LONGITUDE_COLUMNS: Final = ("sun", "moon", "mercury", "venus", "mars", "ascendant", "mc")
ELEMENT_COLUMNS: Final = ("fire", "earth", "air", "water")
MODALITY_COLUMNS: Final = ("cardinal", "fixed", "mutable")
LIFESTYLE_PREFIX: Final = "lifestyle_"
LIFESTYLE_COLUMNS: Final = tuple(
    f"{LIFESTYLE_PREFIX}{question}" for question in load_rules().vocabulary.lifestyle
)
PROFILE_SCHEMA: Final = {
    **dict.fromkeys(SET_PARTS, pl.Int64),
    **dict.fromkeys(LIFESTYLE_COLUMNS, pl.Int8),
}
# One stored row per person: the astro features (null without a chart) and the encoded
# answers (masks 0 and lifestyle -1 when unanswered).
MATCH_SCHEMA: Final = {**FEATURE_SCHEMA, **PROFILE_SCHEMA}


def _check_chart(chart: ChartFeatures) -> None:
    for name in LONGITUDE_COLUMNS:
        value = getattr(chart, name)
        if name in ("ascendant", "mc") and value is None:
            continue
        if not isinstance(value, float | int) or not (math.isfinite(value) and 0 <= value < 360):
            raise InvalidPerson(name, f"expected a longitude in [0, 360), found {value!r}")
    if (chart.ascendant is None) != (chart.mc is None):
        raise InvalidPerson("ascendant", "ascendant and mc are known together or not at all")
    for name, counts in (("elements", chart.elements), ("modalities", chart.modalities)):
        if any(count < 0 for count in counts) or sum(counts) == 0:
            raise InvalidPerson(name, "expected non-negative counts, not all zero")


@dataclass(frozen=True, slots=True)
class Person:
    """One side of a match. `life_path` defaults to the chart's; give it alone when only the
    birth date is known (numerology is then the only astrological component)."""

    chart: ChartFeatures | None = None
    profile: ProfileAnswers = EMPTY_PROFILE
    life_path: int | None = None

    def __post_init__(self) -> None:
        if self.chart is not None:
            _check_chart(self.chart)
            if self.life_path is None:
                object.__setattr__(self, "life_path", self.chart.life_path)
            elif self.life_path != self.chart.life_path:
                raise InvalidPerson("life_path", "differs from the chart's life path")
        if self.life_path is not None and self.life_path not in LIFE_PATHS:
            raise InvalidPerson("life_path", f"{self.life_path} is not a life path number")

    @classmethod
    def from_birth_date(
        cls, birth_date: dt.date, profile: ProfileAnswers = EMPTY_PROFILE
    ) -> Person:
        """A person of whom only the birth date is known."""
        return cls(profile=profile, life_path=life_path_of(birth_date))

    @property
    def angles_known(self) -> bool:
        """Whether the ascendant and mc exist (birth time known, not at a pole)."""
        return self.chart is not None and self.chart.ascendant is not None

    def row(self) -> dict[str, Any]:
        """The stored row: `MATCH_SCHEMA` columns."""
        chart = self.chart
        code = self.profile.encode()
        row: dict[str, Any] = dict.fromkeys(FEATURE_SCHEMA)
        if chart is not None:
            row.update(zip(FEATURE_SCHEMA, chart.row(), strict=True))
        row["life_path"] = self.life_path
        row.update({part: code.mask(part) for part in SET_PARTS})
        row.update(zip(LIFESTYLE_COLUMNS, code.lifestyle, strict=True))
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Person:
        """A person from a stored row (a dict with `MATCH_SCHEMA` keys, e.g. a frame row)."""
        missing = [name for name in MATCH_SCHEMA if name not in row]
        if missing:
            raise InvalidPerson(missing[0], "missing from the row")
        code = ProfileCode(
            values=int(row["values"] or 0),
            love_languages=int(row["love_languages"] or 0),
            interests=int(row["interests"] or 0),
            lifestyle=tuple(
                UNANSWERED if row[name] is None else int(row[name]) for name in LIFESTYLE_COLUMNS
            ),
        )
        profile = ProfileAnswers.decode(code)
        life_path = None if row["life_path"] is None else int(row["life_path"])
        if row["sun"] is None:
            return cls(profile=profile, life_path=life_path)
        chart = ChartFeatures(
            sun=row["sun"],
            moon=row["moon"],
            mercury=row["mercury"],
            venus=row["venus"],
            mars=row["mars"],
            ascendant=row["ascendant"],
            mc=row["mc"],
            elements=(row["fire"], row["earth"], row["air"], row["water"]),
            modalities=(row["cardinal"], row["fixed"], row["mutable"]),
            life_path=int(row["life_path"]),
            time_known=bool(row["time_known"]),
        )
        return cls(chart=chart, profile=profile)


def people_frame(people: Sequence[Person]) -> pl.DataFrame:
    """Stored rows of several people, in order."""
    return pl.DataFrame([person.row() for person in people], schema=MATCH_SCHEMA, orient="row")


def profile_frame(profiles: Sequence[ProfileAnswers | None]) -> pl.DataFrame:
    """The encoded answers of several people (`PROFILE_SCHEMA`); None reads as no answers."""
    rows = []
    for profile in profiles:
        code = (profile or EMPTY_PROFILE).encode()
        rows.append((code.values, code.love_languages, code.interests, *code.lifestyle))
    return pl.DataFrame(rows, schema=PROFILE_SCHEMA, orient="row")


def match_frame(
    births: Sequence[BirthData | dt.date | None],
    profiles: Sequence[ProfileAnswers | None],
    options: ChartOptions | None = None,
) -> pl.DataFrame:
    """Stored rows for a batch (the precompute job): features from `batch_features` for full
    births, the life path alone for a bare date, nulls for nobody; then encoded answers.

    Charts are tropical (`options` may change the ephemeris, not the zodiac: match-1 compares
    tropical positions). Astro errors of a birth propagate; validate births one by one first
    if a batch may hold bad ones.
    """
    if len(births) != len(profiles):
        raise ValueError("births and profiles must have the same length")
    if options is not None and options.zodiac != "tropical":
        raise InvalidPerson("zodiac", "matching compares tropical charts")
    full = [index for index, birth in enumerate(births) if isinstance(birth, BirthData)]
    features = batch_features([birth for birth in births if isinstance(birth, BirthData)], options)
    rows: list[tuple[Any, ...]] = [(None,) * len(FEATURE_SCHEMA)] * len(births)
    for index, row in zip(full, features.iter_rows(), strict=True):
        rows[index] = row
    life_path_at = list(FEATURE_SCHEMA).index("life_path")
    for index, birth in enumerate(births):
        if isinstance(birth, dt.date):
            partial: list[Any] = [None] * len(FEATURE_SCHEMA)
            partial[life_path_at] = life_path_of(birth)
            rows[index] = tuple(partial)
    frame = pl.DataFrame(rows, schema=FEATURE_SCHEMA, orient="row")
    return pl.concat([frame, profile_frame(profiles)], how="horizontal")
