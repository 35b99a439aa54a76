"""Dating preferences and the mutual filter: in dating mode two people are shown to each other
only if each one's gender is among the other's interests and each one's age lies within the
other's range. In every mode, minors and everyone else are kept apart (`same_age_group`).
The core never reads the clock: callers pass ages (see `age_on`), -1 for an unknown age.

Preferences are stored encoded (`DATING_SCHEMA`): the gender's index in the vocabulary, a
bit mask of the genders of interest, and the age range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import polars as pl

from selflink_core.matching.errors import InvalidPreferences
from selflink_core.matching.rules import load_rules

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

    import numpy.typing as npt

DATING_FIELDS: Final = ("gender", "interested_in", "age_min", "age_max")
DATING_SCHEMA: Final = {
    "gender": pl.Int8,
    "interested_in": pl.Int8,
    "age_min": pl.Int16,
    "age_max": pl.Int16,
}


def age_on(birth_date: dt.date, today: dt.date) -> int:
    """Completed years on `today` (someone born on February 29 turns a year older on March 1
    in common years)."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def is_minor(age: int) -> bool:
    """Known to be under the dating minimum age (18); an unknown age (-1) is not."""
    return 0 <= age < load_rules().vocabulary.min_age


def same_age_group(first_age: int, second_age: int) -> bool:
    """Whether two people may be shown to each other: a known minor only with other known
    minors, everyone else (adults and unknown ages) never with a known minor. Symmetric."""
    return is_minor(first_age) == is_minor(second_age)


def same_age_group_mask(user_age: int, ages: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """`same_age_group(user_age, age)` for many candidates at once."""
    age = np.asarray(ages, dtype=np.int64)
    minor = (age >= 0) & (age < load_rules().vocabulary.min_age)
    result: npt.NDArray[np.bool_] = minor if is_minor(user_age) else ~minor
    return result


def _age(value: object, name: str) -> int:
    vocabulary = load_rules().vocabulary
    if type(value) is not int or not vocabulary.min_age <= value <= vocabulary.max_age:
        raise InvalidPreferences(
            name, f"expected a whole age {vocabulary.min_age}..{vocabulary.max_age}"
        )
    return value


@dataclass(frozen=True, slots=True)
class DatingPreferences:
    """Who someone is and whom they want to meet; `interested_in` in vocabulary order."""

    gender: str
    interested_in: tuple[str, ...]
    age_min: int
    age_max: int

    def __post_init__(self) -> None:
        genders = load_rules().vocabulary.genders
        if self.gender not in genders:
            raise InvalidPreferences(
                "gender", f"{self.gender!r} is not one of {', '.join(genders)}"
            )
        wanted = list(self.interested_in)
        if not wanted:
            raise InvalidPreferences("interested_in", "choose at least one gender")
        for gender in wanted:
            if gender not in genders:
                raise InvalidPreferences(
                    "interested_in", f"{gender!r} is not one of {', '.join(genders)}"
                )
        if len(set(wanted)) != len(wanted):
            raise InvalidPreferences("interested_in", "a gender is listed twice")
        object.__setattr__(
            self, "interested_in", tuple(gender for gender in genders if gender in wanted)
        )
        _age(self.age_min, "age_min")
        _age(self.age_max, "age_max")
        if self.age_min > self.age_max:
            raise InvalidPreferences("age_max", "must not be below age_min")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatingPreferences:
        if not isinstance(data, dict):
            raise InvalidPreferences("dating", "expected an object")
        for name in DATING_FIELDS:
            if name not in data:
                raise InvalidPreferences(name, "is required")
        unknown = sorted(set(data) - set(DATING_FIELDS))
        if unknown:
            raise InvalidPreferences(unknown[0], "unknown field")
        if not isinstance(data["interested_in"], list):
            raise InvalidPreferences("interested_in", "expected a list of genders")
        if not isinstance(data["gender"], str):
            raise InvalidPreferences("gender", "expected a string")
        return cls(
            gender=data["gender"],
            interested_in=tuple(data["interested_in"]),
            age_min=data["age_min"],
            age_max=data["age_max"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "age_max": self.age_max,
            "age_min": self.age_min,
            "gender": self.gender,
            "interested_in": list(self.interested_in),
        }

    def row(self) -> dict[str, int]:
        """The stored form (`DATING_SCHEMA`)."""
        genders = load_rules().vocabulary.genders
        return {
            "gender": genders.index(self.gender),
            "interested_in": sum(1 << genders.index(gender) for gender in self.interested_in),
            "age_min": self.age_min,
            "age_max": self.age_max,
        }

    def accepts(self, gender: str, age: int) -> bool:
        return gender in self.interested_in and self.age_min <= age <= self.age_max


def mutually_interested(
    first: DatingPreferences, first_age: int, second: DatingPreferences, second_age: int
) -> bool:
    """Whether each accepts the other's gender and age."""
    return first.accepts(second.gender, second_age) and second.accepts(first.gender, first_age)


def mutual_dating_mask(
    user: DatingPreferences,
    user_age: int,
    *,
    genders: npt.ArrayLike,
    interested_in: npt.ArrayLike,
    age_min: npt.ArrayLike,
    age_max: npt.ArrayLike,
    ages: npt.ArrayLike,
) -> npt.NDArray[np.bool_]:
    """`mutually_interested` for many candidates given as stored columns plus their ages.

    A candidate without preferences (gender -1 or null read as -1) is never shown.
    """
    encoded = user.row()
    gender = np.asarray(genders, dtype=np.int64)
    wanted = np.asarray(interested_in, dtype=np.int64)
    age = np.asarray(ages, dtype=np.int64)
    known = gender >= 0
    they_accept_me = (
        ((wanted >> encoded["gender"]) & 1).astype(np.bool_)
        & (np.asarray(age_min, dtype=np.int64) <= user_age)
        & (user_age <= np.asarray(age_max, dtype=np.int64))
    )
    i_accept_them = (
        ((encoded["interested_in"] >> np.where(known, gender, 0)) & 1).astype(np.bool_)
        & (user.age_min <= age)
        & (age <= user.age_max)
    )
    result: npt.NDArray[np.bool_] = known & they_accept_me & i_accept_them
    return result
