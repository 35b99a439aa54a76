"""SelfLink's soulmatch: a symmetric, explainable compatibility score and fast recommendations.

Rules version `match-1` (weights, tables and vocabularies in ``data/match-1.toml``, every
formula in docs/matching.md). All scores are computed in integer arithmetic, so they are
exact, symmetric and identical between the pairwise and the vectorized path.

Typical use by the API layer::

    answers = ProfileAnswers.from_dict(body)            # InvalidProfile -> 422
    vocabulary().to_dict()                              # what clients may choose from
    frame = match_frame(births, answers_list)           # precompute job: MATCH_SCHEMA rows
    person = Person.from_row(stored_row)                # one stored row back
    result = score(me, them)                            # MatchResult; .to_dict() / .to_json()

    candidates = CandidateMatrix.from_frame(frame)      # once per load of the stored rows
    keep = same_age_group_mask(age, ages)               # minors and adults never meet
    keep &= mutual_dating_mask(prefs, age, genders=..., interested_in=..., age_min=...,
                              age_max=..., ages=...)    # dating mode; blocks etc. filtered too
    ranking = rank(me, candidates.take(keep))           # totals, components, lenses
    page = select_page(ranking.ranking_scores, ranking.lenses, ids[keep], cursor=cursor)
    page.rows, page.next_cursor                         # InvalidCursor -> 400

Errors are `MatchingError` subclasses with `field` and `to_dict()`.
"""

from selflink_core.matching.dating import (
    DATING_SCHEMA,
    DatingPreferences,
    age_on,
    is_minor,
    mutual_dating_mask,
    mutually_interested,
    same_age_group,
    same_age_group_mask,
)
from selflink_core.matching.errors import (
    InvalidCursor,
    InvalidPerson,
    InvalidPreferences,
    InvalidProfile,
    MatchingError,
)
from selflink_core.matching.pages import Page, select_page
from selflink_core.matching.person import (
    MATCH_SCHEMA,
    PROFILE_SCHEMA,
    Person,
    match_frame,
    people_frame,
    profile_frame,
)
from selflink_core.matching.profile import EMPTY_PROFILE, ProfileAnswers
from selflink_core.matching.ranking import CandidateMatrix, Ranking, rank
from selflink_core.matching.result import MatchResult, Reason, score
from selflink_core.matching.rules import (
    COMPONENTS,
    LENSES,
    RULES_VERSION,
    Vocabulary,
    load_rules,
    vocabulary,
)

__all__ = [
    "COMPONENTS",
    "DATING_SCHEMA",
    "EMPTY_PROFILE",
    "LENSES",
    "MATCH_SCHEMA",
    "PROFILE_SCHEMA",
    "RULES_VERSION",
    "CandidateMatrix",
    "DatingPreferences",
    "InvalidCursor",
    "InvalidPerson",
    "InvalidPreferences",
    "InvalidProfile",
    "MatchResult",
    "MatchingError",
    "Page",
    "Person",
    "ProfileAnswers",
    "Ranking",
    "Reason",
    "Vocabulary",
    "age_on",
    "is_minor",
    "load_rules",
    "match_frame",
    "mutual_dating_mask",
    "mutually_interested",
    "people_frame",
    "profile_frame",
    "rank",
    "same_age_group",
    "same_age_group_mask",
    "score",
    "select_page",
    "vocabulary",
]
