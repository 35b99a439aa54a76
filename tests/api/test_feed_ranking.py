"""The for-you ranking's pure parts: weights as data, scores and pages."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selflink_api.content.services import RecentPost
from selflink_api.feed.ranking import Viewer, load_weights, paged, rank

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
WEIGHTS = load_weights("feed-1")
NOBODY = Viewer(frozenset(), {}, {}, {})


def candidate(author: int, hours_old: float = 1, likes: int = 0, comments: int = 0) -> RecentPost:
    return RecentPost(
        uuid.uuid4(),
        uuid.UUID(int=author),
        f"author_{author}",
        NOW - timedelta(hours=hours_old),
        likes,
        comments,
    )


def test_weights_are_named_data() -> None:
    assert WEIGHTS.version == "feed-1"
    assert sum(WEIGHTS.weights.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no feed weights"):
        load_weights("feed-0")


def test_each_signal_moves_the_score_its_way() -> None:
    base = candidate(1)
    older = candidate(1, hours_old=48)
    liked = candidate(1, likes=40)
    followed = candidate(2)
    compatible = candidate(3)
    viewer = Viewer(frozenset({followed.author_id}), {}, {}, {compatible.author_id: 0.9})
    scores = {
        r.candidate: r.score
        for r in rank([base, older, liked, followed, compatible], viewer, NOW, WEIGHTS)
    }
    assert scores[older] < scores[base] < scores[liked]
    assert scores[base] < scores[followed]
    assert scores[base] < scores[compatible]


@given(
    authors=st.lists(st.integers(1, 6), min_size=0, max_size=60),
    size=st.integers(1, 10),
    per_author=st.integers(1, 3),
)
def test_pages_hold_every_post_once_with_few_per_author(
    authors: list[int], size: int, per_author: int
) -> None:
    ranked = rank([candidate(a, hours_old=i) for i, a in enumerate(authors)], NOBODY, NOW, WEIGHTS)
    pages = paged(ranked, size, per_author, pages=1000)
    placed = [item for page in pages for item in page]
    assert sorted(id(item) for item in placed) == sorted(id(item) for item in ranked)
    for page in pages:
        assert 0 < len(page) <= size
        owners = [item.candidate.author_id for item in page]
        assert all(owners.count(owner) <= per_author for owner in owners)
    # Within a page the order is the ranking's.
    for page in pages:
        positions = [ranked.index(item) for item in page]
        assert positions == sorted(positions)
