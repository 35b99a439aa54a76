"""Recommendation pages: best scores first, at most a fixed share of a page from one lens,
and a cursor that keeps pages stable.

Candidates are ordered by score (highest first), ties by key (ascending). A page walks that
order and takes a candidate unless its lens already fills its quota (40% of the page in
`match-1`); skipped candidates stay first in line for the next page. Because a lens is always
consumed in score order, the position reached in each lens is all the state there is: the
cursor holds, per lens, the score and key of the last candidate shown. So a page is a pure
function of (scores, lenses, keys, cursor, page size), pages never repeat or skip anyone while
the scores stay the same, and every page honours the quota (it is shorter instead when too
few lenses are left to fill it).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from selflink_core.matching.errors import InvalidCursor
from selflink_core.matching.rules import load_rules

if TYPE_CHECKING:
    import numpy.typing as npt

CURSOR_FORMAT: Final = 1
Frontier = dict[int, tuple[float, str]]


@dataclass(frozen=True, slots=True)
class Page:
    """`rows` index the inputs, in display order; `next_cursor` is None on the last page."""

    rows: tuple[int, ...]
    next_cursor: str | None


def encode_cursor(frontier: Frontier) -> str:
    after = [[lens, score, key] for lens, (score, key) in sorted(frontier.items())]
    text = json.dumps({"after": after, "v": CURSOR_FORMAT}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Frontier:
    """The per-lens positions of a cursor made by `encode_cursor`, or `InvalidCursor`."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        document = json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("cursor", "not a recommendations cursor") from None
    if not isinstance(document, dict) or document.get("v") != CURSOR_FORMAT:
        raise InvalidCursor("cursor", "not a recommendations cursor of this version")
    after = document.get("after")
    if not isinstance(after, list) or set(document) != {"after", "v"}:
        raise InvalidCursor("cursor", "malformed cursor")
    frontier: Frontier = {}
    for entry in after:
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and type(entry[0]) is int
            and entry[0] >= 0
            and type(entry[1]) in (int, float)
            and math.isfinite(entry[1])
            and isinstance(entry[2], str)
            and entry[0] not in frontier
        ):
            raise InvalidCursor("cursor", "malformed cursor")
        frontier[entry[0]] = (float(entry[1]), entry[2])
    return frontier


def _best(
    rows: npt.NDArray[np.intp], scores: npt.NDArray[np.float64], keys: npt.NDArray[Any], count: int
) -> npt.NDArray[np.intp]:
    """The first `count` of `rows` by (score descending, key ascending), unordered."""
    if len(rows) <= count:
        return rows
    values = scores[rows]
    threshold = np.partition(values, len(values) - count)[len(values) - count]
    better = rows[values > threshold]
    tied = rows[values == threshold]
    tied = tied[np.argsort(keys[tied], kind="stable")][: count - len(better)]
    return np.concatenate([better, tied])


def select_page(
    scores: npt.ArrayLike,
    lenses: npt.ArrayLike,
    keys: npt.ArrayLike,
    *,
    cursor: str | None = None,
    page_size: int | None = None,
) -> Page:
    """One page of candidates.

    `scores` are finite numbers, `lenses` small non-negative integers (`Ranking.lenses`),
    `keys` unique strings that never change for a candidate (a user id), all of one length.
    `page_size` defaults to the rules' default and must lie within their limits.
    """
    rules = load_rules().pages
    size = rules.default_size if page_size is None else page_size
    if not rules.min_size <= size <= rules.max_size:
        raise ValueError(f"page_size must lie within {rules.min_size}..{rules.max_size}")
    score_array = np.asarray(scores, dtype=np.float64)
    lens_array = np.asarray(lenses, dtype=np.int64)
    key_array = np.asarray(keys)
    if key_array.size and key_array.dtype.kind != "U":
        raise TypeError("keys must be strings")
    if not score_array.shape == lens_array.shape == key_array.shape or score_array.ndim != 1:
        raise ValueError("scores, lenses and keys must be flat and of one length")
    if not np.isfinite(score_array).all():
        raise ValueError("scores must be finite")
    frontier = {} if cursor is None else decode_cursor(cursor)
    eligible = np.ones(len(score_array), dtype=np.bool_)
    for lens, (last_score, last_key) in frontier.items():
        in_lens = lens_array == lens
        eligible &= ~(in_lens & (score_array > last_score))
        level = np.flatnonzero(in_lens & (score_array == last_score))
        eligible[level[key_array[level] <= last_key]] = False
    cap = rules.lens_cap(size)
    chosen = [
        _best(np.flatnonzero(eligible & (lens_array == lens)), score_array, key_array, cap)
        for lens in np.unique(lens_array[eligible]).tolist()
    ]
    pool = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.intp)
    rows = pool[np.lexsort((key_array[pool], -score_array[pool]))][:size]
    for row in rows.tolist():
        frontier[int(lens_array[row])] = (float(score_array[row]), str(key_array[row]))
    remaining = int(eligible.sum()) - len(rows)
    return Page(
        rows=tuple(rows.tolist()), next_cursor=encode_cursor(frontier) if remaining else None
    )
