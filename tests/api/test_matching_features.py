"""The stored feature record keeps exactly what the rules use, so every score from stored
records equals the score from the full-precision features; the candidate pool patches in
changed records and leaves out unreadable ones (no database needed)."""

import datetime as dt
import os
import uuid

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from selflink_api.accounts.schemas import BirthData
from selflink_api.matching.candidates import (
    CandidatePool,
    StoredRow,
    apply_changes,
    features_context,
    merge_pool,
)
from selflink_api.matching.features import (
    RECORD,
    _engine_birth,
    ages_on,
    compute_records,
    dating_of,
    person_of,
    records_frame,
)
from selflink_api.matching.schemas import DatingPreferences, PreferencesDocument
from selflink_api.platform.crypto import PersonalDataCipher
from selflink_core import astro
from selflink_core.matching import (
    CandidateMatrix,
    Person,
    ProfileAnswers,
    age_on,
    match_frame,
    rank,
    score,
    vocabulary,
)
from selflink_core.matching.scoring import centidegrees

VOCABULARY = vocabulary()


def test_every_longitude_the_rules_can_see_survives_storage() -> None:
    hundredths = np.arange(36_000)
    records = np.zeros(36_000, dtype=RECORD)
    records["points"] = hundredths[:, None]
    records["elements"] = (4, 3, 2, 1)
    records["modalities"] = (4, 3, 3)
    records["life_path"] = 7
    frame = records_frame(records)
    assert [centidegrees(value) for value in frame["moon"]] == hundredths.tolist()
    assert (CandidateMatrix.from_frame(frame).points == hundredths[:, None]).all()
    assert centidegrees(person_of(records[12_345]).chart.venus) == 12_345  # type: ignore[union-attr]


@st.composite
def people(draw: st.DrawFn) -> tuple[BirthData | None, PreferencesDocument]:
    kind = draw(st.sampled_from(["chart", "chart", "untimed", "date", "none"]))
    day = draw(st.dates(dt.date(1930, 1, 1), dt.date(2008, 12, 31)))
    birth = None
    if kind in ("chart", "untimed"):
        birth = BirthData(
            date=day,
            time=None if kind == "untimed" else draw(st.times()).strftime("%H:%M"),
            latitude=draw(st.floats(-60, 66)),
            longitude=draw(st.floats(-180, 180)),
            timezone="UTC",
        )
    elif kind == "date":
        birth = BirthData(date=day)

    def words(part: str) -> list[str]:
        limit = VOCABULARY.limits[part]
        return draw(st.lists(st.sampled_from(VOCABULARY.words(part)), max_size=limit, unique=True))

    dating = None
    if draw(st.booleans()):
        low = draw(st.integers(18, 99))
        dating = DatingPreferences(
            gender=draw(st.sampled_from(VOCABULARY.genders)),
            interested_in=draw(
                st.lists(st.sampled_from(VOCABULARY.genders), min_size=1, unique=True)
            ),
            age_min=low,
            age_max=draw(st.integers(low, 99)),
        )
    preferences = PreferencesDocument(
        modes=draw(st.lists(st.sampled_from(VOCABULARY.modes), unique=True)),
        dating=dating,
        values=words("values"),
        love_languages=words("love_languages"),
        interests=words("interests"),
        lifestyle=draw(
            st.dictionaries(
                st.sampled_from(list(VOCABULARY.lifestyle)), st.sampled_from(["0", "1"])
            ).map(lambda picks: {q: VOCABULARY.lifestyle[q][int(i)] for q, i in picks.items()})
        ),
    )
    return birth, preferences


def full_precision(birth: BirthData | None, preferences: PreferencesDocument) -> Person:
    """The person from the astro engine's features as they are, six decimals and all."""
    answers = ProfileAnswers.from_dict(preferences.answers())
    return Person.from_row(match_frame([_engine_birth(birth)], [answers]).row(0, named=True))


@settings(max_examples=25, deadline=None)
@given(st.lists(people(), min_size=2, max_size=6))
def test_stored_records_score_exactly_like_the_full_features(
    batch: list[tuple[BirthData | None, PreferencesDocument]],
) -> None:
    records = compute_records(batch, astro.EphemerisSource())
    stored = [person_of(record) for record in records]
    exact = [full_precision(birth, preferences) for birth, preferences in batch]
    ranking = rank(stored[0], CandidateMatrix.from_frame(records_frame(records)))
    for index, person in enumerate(stored):
        result = score(stored[0], person)
        assert result == score(exact[0], exact[index])
        assert (ranking.totals[index], ranking.ranking_scores[index]) == (
            result.total,
            result.ranking_score,
        )
        assert Person.from_row(records_frame(records[index : index + 1]).row(0, named=True)) == (
            person
        )
    today = dt.date(2026, 2, 28)
    ages = ages_on(records, today)
    for record, age, (birth, preferences) in zip(records, ages, batch, strict=True):
        assert age == (-1 if birth is None else age_on(birth.date, today))
        dating = dating_of(record)
        if preferences.dating is None:
            assert dating is None
        else:
            assert dating is not None
            assert (dating.gender, set(dating.interested_in), dating.age_min, dating.age_max) == (
                preferences.dating.gender,
                set(preferences.dating.interested_in),
                preferences.dating.age_min,
                preferences.dating.age_max,
            )


def test_a_leap_day_birthday_counts_on_the_first_of_march() -> None:
    records = compute_records(
        [(BirthData(date=dt.date(2000, 2, 29)), PreferencesDocument())], astro.EphemerisSource()
    )
    assert ages_on(records, dt.date(2026, 2, 28)).tolist() == [25]
    assert ages_on(records, dt.date(2026, 3, 1)).tolist() == [26]


def test_the_pool_patches_changes_and_leaves_out_what_it_cannot_read() -> None:
    cipher = PersonalDataCipher({"k": os.urandom(32)}, "k", os.urandom(32))
    batch = [
        (BirthData(date=dt.date(1990 + n, 1 + n, 10 + n)), PreferencesDocument(values=["humor"]))
        for n in range(4)
    ]
    records = compute_records(batch, astro.EphemerisSource())
    ids = sorted(uuid.uuid4() for _ in range(4))

    def stored(index: int, revision: int, blob: bytes | None = None) -> StoredRow:
        sealed = cipher.encrypt(records[index].tobytes(), context=features_context(ids[index]))
        return (ids[index], revision, sealed.key_id, blob or sealed.blob)

    first = merge_pool(CandidatePool.empty(), 1, [stored(n, 1) for n in range(3)], cipher)
    assert (len(first), first.rows_seen) == (3, 3)
    assert person_of(first.records[first.positions[ids[1]]]) == person_of(records[1])

    tampered = stored(1, 2, b"\0" * 60)
    assert apply_changes(first, 2, [tampered], cipher) is None  # a known row became unreadable
    unchanged = (ids[0], 1, None, None)
    second = merge_pool(first, 2, [unchanged, tampered, (ids[2], 1, None, None)], cipher)
    assert (second.user_ids, second.unreadable, second.rows_seen) == (
        (ids[0], ids[2]),
        frozenset({ids[1]}),
        3,
    )

    third = apply_changes(second, 3, [stored(3, 3), stored(1, 3)], cipher)
    assert third is not None
    assert set(third.user_ids) == set(ids)
    assert third.unreadable == frozenset()
    assert sorted(third.keys.tolist()) == sorted(str(user_id) for user_id in ids)
    for index, user_id in enumerate(ids):
        assert person_of(third.records[third.positions[user_id]]) == person_of(records[index])
    assert len(third.matrix) == 4
