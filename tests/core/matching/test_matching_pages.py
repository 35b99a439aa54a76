"""`select_page`: lens quota, stable keyset cursor, order and input-order independence."""

import collections

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selflink_core.matching import InvalidCursor, select_page
from selflink_core.matching.pages import encode_cursor

CAP = {5: 2, 10: 4, 20: 8}


@st.composite
def pools(draw: st.DrawFn) -> tuple[list[float], list[int], list[str]]:
    count = draw(st.integers(0, 80))
    scores = draw(
        st.lists(
            st.sampled_from([0.0, 12.5, 50.0, 50.01, 73.3, 99.99, 100.0]),
            min_size=count,
            max_size=count,
        )
    )
    lenses = draw(st.lists(st.integers(0, 4), min_size=count, max_size=count))
    keys = [f"user-{index:04d}" for index in draw(st.permutations(range(count)))]
    return scores, lenses, keys


def all_pages(scores, lenses, keys, size):
    cursor, pages = None, []
    while True:
        page = select_page(scores, lenses, keys, cursor=cursor, page_size=size)
        pages.append(page.rows)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
        assert len(pages) <= len(scores) + 1


@settings(max_examples=120)
@given(pools(), st.sampled_from([5, 10, 20]))
def test_pages_show_everyone_once_best_first_within_the_quota(pool, size) -> None:
    scores, lenses, keys = pool
    pages = all_pages(scores, lenses, keys, size)
    shown = [row for page in pages for row in page]
    assert sorted(shown) == list(range(len(scores)))
    for page in pages:
        assert 0 < len(page) <= size or (not scores and page == ())
        per_lens = collections.Counter(lenses[row] for row in page)
        assert max(per_lens.values(), default=0) <= CAP[size]
        order = [(-scores[row], keys[row]) for row in page]
        assert order == sorted(order)
    # Within a lens, candidates come strictly in score order across pages.
    for lens in set(lenses):
        seen = [(-scores[row], keys[row]) for row in shown if lenses[row] == lens]
        assert seen == sorted(seen)


@settings(max_examples=60)
@given(pools(), st.sampled_from([5, 10]))
def test_a_page_is_as_full_as_the_quota_allows(pool, size) -> None:
    scores, lenses, keys = pool
    page = select_page(scores, lenses, keys, page_size=size)
    available = collections.Counter(lenses)
    assert len(page.rows) == min(size, sum(min(CAP[size], n) for n in available.values()))


@settings(max_examples=60)
@given(pools(), st.randoms(use_true_random=False))
def test_input_order_does_not_change_the_pages(pool, rng) -> None:
    scores, lenses, keys = pool
    order = list(range(len(scores)))
    rng.shuffle(order)
    pages = all_pages(scores, lenses, keys, 5)
    shuffled = all_pages(
        [scores[i] for i in order], [lenses[i] for i in order], [keys[i] for i in order], 5
    )
    assert [[keys[row] for row in page] for page in pages] == [
        [keys[order[row]] for row in page] for page in shuffled
    ]


def test_ties_break_by_key_and_one_lens_fills_only_its_quota() -> None:
    keys = ["c", "a", "b", "e", "d", "f"]
    page = select_page([70.0] * 6, [0] * 6, keys, page_size=5)
    assert [keys[row] for row in page.rows] == ["a", "b"]
    second = select_page([70.0] * 6, [0] * 6, keys, cursor=page.next_cursor, page_size=5)
    assert [keys[row] for row in second.rows] == ["c", "d"]


def test_skipped_candidates_lead_the_next_page() -> None:
    scores = [99.0, 98.0, 97.0, 96.0, 50.0, 49.0, 48.0]
    lenses = [0, 0, 0, 0, 3, 3, 1]
    keys = ["a", "b", "c", "d", "e", "f", "g"]
    first = select_page(scores, lenses, keys, page_size=5)
    assert first.rows == (0, 1, 4, 5, 6)
    second = select_page(scores, lenses, keys, cursor=first.next_cursor, page_size=5)
    assert second.rows == (2, 3)
    assert second.next_cursor is None


def test_a_cursor_stays_valid_when_candidates_join() -> None:
    scores, lenses, keys = [90.0, 80.0, 70.0], [0, 1, 3], ["a", "b", "c"]
    first = select_page(scores, lenses, keys, page_size=5)
    assert first.next_cursor is None
    cursor = encode_cursor({0: (90.0, "a")})
    later = select_page(
        [*scores, 95.0, 60.0], [*lenses, 0, 0], [*keys, "z", "y"], cursor=cursor, page_size=5
    )
    assert later.rows == (1, 2, 4)


@pytest.mark.parametrize(
    "cursor",
    ["", "not base64 !", "e30", encode_cursor({})[:-3] + "xyz", "eyJ2IjoyLCJhZnRlciI6W119"],
)
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        select_page([1.0], [0], ["a"], cursor=cursor, page_size=5)


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="page_size"):
        select_page([1.0], [0], ["a"], page_size=4)
    with pytest.raises(ValueError, match="one length"):
        select_page([1.0, 2.0], [0], ["a"], page_size=5)
    with pytest.raises(ValueError, match="finite"):
        select_page([float("nan")], [0], ["a"], page_size=5)
    with pytest.raises(TypeError, match="strings"):
        select_page([1.0], [0], np.array([7]), page_size=5)
    assert select_page([], [], [], page_size=5).rows == ()
