"""The stored features of one person: a fixed-layout binary record, computed from their birth
data and matching preferences, encrypted at rest.

A record holds exactly what recommendations need, in the integer form the rules use:

* the compared longitudes in whole hundredths of a degree (-1 when unknown): the precision
  `selflink_core.matching` scores with, and no more (the astro features' six decimals are
  rounded away; scores are unchanged, see `records_frame`);
* element and modality counts, life path, whether the birth time was known;
* the profile answers as bit masks and option indices (`MATCH_SCHEMA`'s encoding);
* the modes taken part in, the encoded dating preferences (`DATING_SCHEMA`) and the birth
  date, from which ages are computed on the day of each request.

Records of many people decode at once (`numpy.frombuffer`) into `MATCH_SCHEMA` rows for
`CandidateMatrix`, and one record into a `Person`. Everything here is synchronous CPU work:
callers run it in a worker thread.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from selflink_api.accounts.birth import core_birth, has_location
from selflink_api.accounts.schemas import BirthData
from selflink_api.matching.schemas import PreferencesDocument
from selflink_core import astro
from selflink_core.astro import AstroError
from selflink_core.matching import (
    MATCH_SCHEMA,
    DatingPreferences,
    Person,
    ProfileAnswers,
    match_frame,
    vocabulary,
)
from selflink_core.matching.person import (
    ELEMENT_COLUMNS,
    LIFESTYLE_COLUMNS,
    LONGITUDE_COLUMNS,
    MODALITY_COLUMNS,
)
from selflink_core.matching.rules import SET_PARTS

LAYOUT: Final = 1
"""The record layout below; a change is a new number, and stored rows are recomputed."""

UNKNOWN: Final = -1
MODES: Final = vocabulary().modes
GENDERS: Final = vocabulary().genders

RECORD: Final = np.dtype(
    [
        ("modes", "u1"),
        ("points", "<i4", (len(LONGITUDE_COLUMNS),)),
        ("elements", "i1", (len(ELEMENT_COLUMNS),)),
        ("modalities", "i1", (len(MODALITY_COLUMNS),)),
        ("life_path", "i1"),
        ("time_known", "i1"),
        ("values", "<i8"),
        ("love_languages", "<i8"),
        ("interests", "<i8"),
        ("lifestyle", "i1", (len(LIFESTYLE_COLUMNS),)),
        ("gender", "i1"),
        ("interested_in", "i1"),
        ("age_min", "<i2"),
        ("age_max", "<i2"),
        ("birth_year", "<i2"),
        ("birth_month", "i1"),
        ("birth_day", "i1"),
    ]
)
"""One person, little-endian and packed (itemsize bytes; `RECORD.itemsize`)."""

Records = npt.NDArray[np.void]


def mode_bit(mode: str) -> int:
    return 1 << MODES.index(mode)


def _centidegrees(longitudes: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """As the rules round: to millionths, then hundredths halves up (docs/matching.md)."""
    micro = np.rint(longitudes * 1_000_000).astype(np.int64)
    result: npt.NDArray[np.int64] = (micro + 5_000) // 10_000 % 36_000
    return result


def _engine_birth(birth: BirthData | None) -> astro.BirthData | dt.date | None:
    """A located birth gives a chart; a date alone (or birth data that no longer passes the
    astro rules) gives the life path only."""
    if birth is None:
        return None
    if has_location(birth):
        try:
            return core_birth(birth)
        except AstroError:
            return birth.date
    return birth.date


def _features(
    births: list[BirthData | None], answers: list[ProfileAnswers], options: astro.ChartOptions
) -> pl.DataFrame:
    """`match_frame` of the batch; a birth the engine refuses (e.g. a date the configured
    ephemeris files do not cover) counts by its date alone."""
    engine_births = [_engine_birth(birth) for birth in births]
    try:
        return match_frame(engine_births, answers, options)
    except AstroError:
        frames = []
        for birth, engine_birth, profile in zip(births, engine_births, answers, strict=True):
            try:
                frames.append(match_frame([engine_birth], [profile], options))
            except AstroError:
                assert birth is not None
                frames.append(match_frame([birth.date], [profile], options))
        return pl.concat(frames)


def compute_records(
    people: Sequence[tuple[BirthData | None, PreferencesDocument]],
    ephemeris: astro.EphemerisSource,
) -> Records:
    """The records of a batch of people, from their birth data and preferences."""
    births = [birth for birth, _ in people]
    answers = [ProfileAnswers.from_dict(preferences.answers()) for _, preferences in people]
    options = astro.ChartOptions(ephemeris=ephemeris.name, ephemeris_path=ephemeris.path)
    frame = _features(births, answers, options)
    records = np.zeros(len(people), dtype=RECORD)
    for index, name in enumerate(LONGITUDE_COLUMNS):
        longitudes = frame[name].to_numpy()
        known = ~np.isnan(longitudes)
        points = _centidegrees(np.where(known, longitudes, 0.0))
        records["points"][:, index] = np.where(known, points, UNKNOWN)
    for block, names in (("elements", ELEMENT_COLUMNS), ("modalities", MODALITY_COLUMNS)):
        for index, name in enumerate(names):
            records[block][:, index] = frame[name].fill_null(0).to_numpy()
    records["life_path"] = frame["life_path"].fill_null(0).to_numpy()
    records["time_known"] = frame["time_known"].cast(pl.Int8).fill_null(UNKNOWN).to_numpy()
    for part in SET_PARTS:
        records[part] = frame[part].to_numpy()
    for index, name in enumerate(LIFESTYLE_COLUMNS):
        records["lifestyle"][:, index] = frame[name].to_numpy()
    for record, (birth, preferences) in zip(records, people, strict=True):
        record["modes"] = sum(mode_bit(mode) for mode in preferences.modes)
        record["gender"] = UNKNOWN
        if preferences.dating is not None:
            dating = preferences.dating
            encoded = DatingPreferences(
                gender=dating.gender,
                interested_in=tuple(dating.interested_in),
                age_min=dating.age_min,
                age_max=dating.age_max,
            ).row()
            for name, value in encoded.items():
                record[name] = value
        if birth is not None:
            record["birth_year"] = birth.date.year
            record["birth_month"] = birth.date.month
            record["birth_day"] = birth.date.day
    return records


def decode_records(blobs: list[bytes]) -> Records:
    """Records from their bytes, all at once."""
    return np.frombuffer(b"".join(blobs), dtype=RECORD)


def records_frame(records: Records) -> pl.DataFrame:
    """`MATCH_SCHEMA` rows of the records.

    A longitude of c hundredths is given as c / 100 degrees, which the rules round back to
    exactly c, so every score equals the one from the full-precision features.
    """
    raw: dict[str, Any] = {
        "life_path": records["life_path"],
        "time_known": records["time_known"],
        **{part: records[part] for part in SET_PARTS},
    }
    for block, names in (
        ("points", LONGITUDE_COLUMNS),
        ("elements", ELEMENT_COLUMNS),
        ("modalities", MODALITY_COLUMNS),
        ("lifestyle", LIFESTYLE_COLUMNS),
    ):
        for index, name in enumerate(names):
            raw[name] = records[block][:, index]
    has_chart = pl.col("sun") >= 0
    return (
        pl.DataFrame(raw)
        .select(
            *(pl.when(pl.col(n) >= 0).then(pl.col(n) / 100).alias(n) for n in LONGITUDE_COLUMNS),
            *(pl.when(has_chart).then(pl.col(n)).alias(n) for n in ELEMENT_COLUMNS),
            *(pl.when(has_chart).then(pl.col(n)).alias(n) for n in MODALITY_COLUMNS),
            pl.when(pl.col("life_path") > 0).then(pl.col("life_path")).alias("life_path"),
            pl.when(pl.col("time_known") >= 0).then(pl.col("time_known") == 1).alias("time_known"),
            *(pl.col(part) for part in SET_PARTS),
            *(pl.col(name) for name in LIFESTYLE_COLUMNS),
        )
        .cast(MATCH_SCHEMA)  # type: ignore[arg-type]
    )


def person_of(record: np.void) -> Person:
    """The `Person` a record describes, for a pairwise score (the row `records_frame` would
    give, built directly: this runs for every person on a page)."""
    points = [int(point) for point in record["points"]]
    charted = points[0] != UNKNOWN
    row: dict[str, Any] = {
        name: None if point == UNKNOWN else point / 100
        for name, point in zip(LONGITUDE_COLUMNS, points, strict=True)
    }
    for block, names in (("elements", ELEMENT_COLUMNS), ("modalities", MODALITY_COLUMNS)):
        for name, count in zip(names, record[block], strict=True):
            row[name] = int(count) if charted else None
    row["life_path"] = int(record["life_path"]) or None
    time_known = int(record["time_known"])
    row["time_known"] = None if time_known == UNKNOWN else time_known == 1
    for part in SET_PARTS:
        row[part] = int(record[part])
    for name, answer in zip(LIFESTYLE_COLUMNS, record["lifestyle"], strict=True):
        row[name] = int(answer)
    return Person.from_row(row)


def dating_of(record: np.void) -> DatingPreferences | None:
    if int(record["gender"]) == UNKNOWN:
        return None
    wanted = int(record["interested_in"])
    return DatingPreferences(
        gender=GENDERS[int(record["gender"])],
        interested_in=tuple(g for i, g in enumerate(GENDERS) if wanted >> i & 1),
        age_min=int(record["age_min"]),
        age_max=int(record["age_max"]),
    )


def ages_on(records: Records, today: dt.date) -> npt.NDArray[np.int64]:
    """Completed years on `today` (as `selflink_core.matching.age_on`), -1 without a birth
    date."""
    year = records["birth_year"].astype(np.int64)
    month = records["birth_month"].astype(np.int64)
    day = records["birth_day"].astype(np.int64)
    before_birthday = (month > today.month) | ((month == today.month) & (day > today.day))
    ages: npt.NDArray[np.int64] = np.where(year > 0, today.year - year - before_birthday, -1)
    return ages
