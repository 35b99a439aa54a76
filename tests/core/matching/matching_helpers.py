"""Hypothesis strategies and shared people for the matching tests."""

from hypothesis import strategies as st

from selflink_core.astro import ChartFeatures
from selflink_core.matching import Person, ProfileAnswers, vocabulary
from selflink_core.matching.rules import LIFE_PATHS, SET_PARTS

VOCABULARY = vocabulary()


# Published longitudes carry six decimals.
longitudes = st.integers(0, 359_999_999).map(lambda micro: micro / 1_000_000)


def counts(size: int) -> st.SearchStrategy[tuple[int, ...]]:
    """How ten planets fall into `size` groups."""
    return st.lists(st.integers(0, size - 1), min_size=10, max_size=10).map(
        lambda groups: tuple(groups.count(index) for index in range(size))
    )


@st.composite
def chart_features(draw: st.DrawFn) -> ChartFeatures:
    angles = draw(st.one_of(st.none(), st.tuples(longitudes, longitudes)))
    return ChartFeatures(
        sun=draw(longitudes),
        moon=draw(longitudes),
        mercury=draw(longitudes),
        venus=draw(longitudes),
        mars=draw(longitudes),
        ascendant=None if angles is None else angles[0],
        mc=None if angles is None else angles[1],
        elements=draw(counts(4)),  # type: ignore[arg-type]
        modalities=draw(counts(3)),  # type: ignore[arg-type]
        life_path=draw(st.sampled_from(sorted(LIFE_PATHS))),
        time_known=angles is not None,
    )


def words(part: str, *, spare: int = 0) -> st.SearchStrategy[list[str]]:
    """Valid answers for a set part, leaving room for `spare` more."""
    return st.lists(
        st.sampled_from(VOCABULARY.words(part)),
        unique=True,
        max_size=VOCABULARY.limits[part] - spare,
    )


@st.composite
def profile_dicts(draw: st.DrawFn, spare: int = 0) -> dict[str, object]:
    lifestyle = {}
    for question, options in VOCABULARY.lifestyle.items():
        answer = draw(st.one_of(st.none(), st.sampled_from(options)))
        if answer is not None:
            lifestyle[question] = answer
    document: dict[str, object] = {part: draw(words(part, spare=spare)) for part in SET_PARTS}
    document["lifestyle"] = lifestyle
    return document


profiles = profile_dicts().map(ProfileAnswers.from_dict)


@st.composite
def people(draw: st.DrawFn) -> Person:
    """Mostly people with charts, some with only a life path or nothing, any profile."""
    profile = draw(st.one_of(profiles, st.just(ProfileAnswers())))
    kind = draw(st.sampled_from(["chart", "chart", "chart", "life_path", "nothing"]))
    if kind == "chart":
        return Person(chart=draw(chart_features()), profile=profile)
    if kind == "life_path":
        return Person(profile=profile, life_path=draw(st.sampled_from(sorted(LIFE_PATHS))))
    return Person(profile=profile)


def features(
    sun: float = 0.0,
    moon: float = 0.0,
    mercury: float = 0.0,
    venus: float = 0.0,
    mars: float = 0.0,
    ascendant: float | None = None,
    mc: float | None = None,
    elements: tuple[int, int, int, int] = (4, 2, 2, 2),
    modalities: tuple[int, int, int] = (4, 3, 3),
    life_path: int = 1,
) -> ChartFeatures:
    """Hand-made features for exact expectations."""
    return ChartFeatures(
        sun=sun,
        moon=moon,
        mercury=mercury,
        venus=venus,
        mars=mars,
        ascendant=ascendant,
        mc=mc,
        elements=elements,
        modalities=modalities,
        life_path=life_path,
        time_known=ascendant is not None,
    )
