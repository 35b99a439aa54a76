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
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from selflink_api.accounts.schemas import BirthData
from selflink_api.astro.inputs import core_birth, has_location
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


def _centidegrees(longitude: float) -> int:
    """As the rules round: to millionths, then hundredths halves up (docs/matching.md)."""
    micro = round(longitude * 1_000_000)
    return (micro + 5_000) // 10_000 % 36_000


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


def compute_record(
    birth: BirthData | None, preferences: PreferencesDocument, ephemeris_path: str | None
) -> bytes:
    """The record of one person (`RECORD.itemsize` bytes)."""
    answers = ProfileAnswers.from_dict(preferences.answers())
    options = astro.ChartOptions(ephemeris_path=ephemeris_path)
    engine_birth = _engine_birth(birth)
    try:
        frame = match_frame([engine_birth], [answers], options)
    except AstroError:  # e.g. a date the configured ephemeris files do not cover
        assert birth is not None
        frame = match_frame([birth.date], [answers], options)
    row = frame.row(0, named=True)
    record = np.zeros(1, dtype=RECORD)[0]
    record["modes"] = sum(mode_bit(mode) for mode in preferences.modes)
    record["points"] = [
        UNKNOWN if row[name] is None else _centidegrees(row[name]) for name in LONGITUDE_COLUMNS
    ]
    if row["sun"] is not None:
        record["elements"] = [row[name] for name in ELEMENT_COLUMNS]
        record["modalities"] = [row[name] for name in MODALITY_COLUMNS]
    record["life_path"] = row["life_path"] or 0
    record["time_known"] = UNKNOWN if row["time_known"] is None else int(row["time_known"])
    for part in ("values", "love_languages", "interests"):
        record[part] = row[part]
    record["lifestyle"] = [row[name] for name in LIFESTYLE_COLUMNS]
    dating = preferences.dating
    if dating is None:
        record["gender"] = UNKNOWN
    else:
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
    return bytes(record.tobytes())


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
        **{part: records[part] for part in ("values", "love_languages", "interests")},
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
            *(pl.col(part) for part in ("values", "love_languages", "interests")),
            *(pl.col(name) for name in LIFESTYLE_COLUMNS),
        )
        .cast(MATCH_SCHEMA)  # type: ignore[arg-type]
    )


def person_of(record: np.void) -> Person:
    """The `Person` a record describes, for a pairwise score."""
    return Person.from_row(records_frame(np.array([record], dtype=RECORD)).row(0, named=True))


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
