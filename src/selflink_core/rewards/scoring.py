"""Scoring a GitHub pull request into an event draft, by versioned rules shipped as data files.

An event records the rules version that scored it and is never rescored, so a version's file is
never edited once published: new rules get a new version.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from selflink_core.rewards.events import EventDraft, EventError, period_of

DEFAULT_RULES: Final = "v1"
_RULES_PACKAGE: Final = "selflink_core.rewards"


class PayloadError(ValueError):
    """The payload is not a pull request these rules can read; says which part is wrong."""


class UnknownRulesError(ValueError):
    """No rules file has this version."""


@dataclass(frozen=True, slots=True)
class Rules:
    version: str
    kind: str
    size_labels: dict[str, int]
    bonus_labels: dict[str, int]
    max_bonus: int
    ignored_author_types: frozenset[str]


def available_rules() -> list[str]:
    """Versions of the rules shipped with this package, sorted."""
    folder = resources.files(_RULES_PACKAGE).joinpath("rules")
    return sorted(
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    )


@cache
def load_rules(version: str = DEFAULT_RULES) -> Rules:
    if version not in available_rules():
        raise UnknownRulesError(
            f"unknown rules version {version!r}; available: {', '.join(available_rules())}"
        )
    text = resources.files(_RULES_PACKAGE).joinpath("rules", f"{version}.json").read_text("utf-8")
    data = json.loads(text)
    return Rules(
        version=data["version"],
        kind=data["kind"],
        size_labels=dict(data["size_labels"]),
        bonus_labels=dict(data["bonus_labels"]),
        max_bonus=data["max_bonus"],
        ignored_author_types=frozenset(data["ignored_author_types"]),
    )


@dataclass(frozen=True, slots=True)
class Scored:
    """The event a pull request produces (period = UTC month of the merge) and how, with the
    pull request's number and author id, which the draft holds only inside strings."""

    draft: EventDraft
    explanation: tuple[str, ...]
    number: int
    author_id: int


@dataclass(frozen=True, slots=True)
class NotScored:
    """The pull request produces no event, and why."""

    reason: str


def _ascii_lower(text: str) -> str:
    """Lowercase A-Z only, so matching never depends on Unicode case tables."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _utc_seconds(value: Any) -> str:
    if not isinstance(value, str):
        raise PayloadError(f"merged_at: must be a timestamp string, found {value!r}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"merged_at: not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise PayloadError(f"merged_at: has no time zone: {value!r}")
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:
        raise PayloadError(f"merged_at: has no UTC time in years 1-9999: {value!r}") from None
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def _pull_request(payload: Any) -> tuple[dict[str, Any], Any] | NotScored:
    """The PR object and the top-level repository (webhook) or None (REST object)."""
    if not isinstance(payload, dict):
        raise PayloadError("the payload must be a JSON object")
    if "pull_request" in payload:
        action = payload.get("action")
        if action != "closed":
            return NotScored(f"the webhook action is {action!r}, not 'closed'")
        pull = payload["pull_request"]
        if not isinstance(pull, dict):
            raise PayloadError("pull_request: must be an object")
        return pull, payload.get("repository")
    if "number" in payload and "user" in payload:
        return payload, None
    raise PayloadError(
        "not a pull_request webhook payload nor a pull-request object (no 'pull_request', "
        "no 'number' and 'user')"
    )


def score_pull_request(payload: bytes, rules_version: str = DEFAULT_RULES) -> Scored | NotScored:
    """The event `payload` (a GitHub PR, bytes exactly as received) produces under the rules.

    Raises `PayloadError` when the payload lacks what the rules need, `UnknownRulesError` for an
    unknown version.
    """
    rules = load_rules(rules_version)
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PayloadError(f"not valid JSON: {exc}") from None
    found = _pull_request(data)
    if isinstance(found, NotScored):
        return found
    pull, repository = found
    merged_at = pull.get("merged_at")
    if pull.get("merged") is not True and not merged_at:
        return NotScored("the pull request was closed without being merged")
    author_type = _get(pull, "user", "type")
    if author_type in rules.ignored_author_types:
        return NotScored(f"the author is a {author_type} account; bots earn no points")
    author_id = _get(pull, "user", "id")
    if isinstance(author_id, bool) or not isinstance(author_id, int):
        raise PayloadError(f"user.id: must be an integer, found {author_id!r}")
    number = pull.get("number")
    if isinstance(number, bool) or not isinstance(number, int):
        raise PayloadError(f"number: must be an integer, found {number!r}")
    repo = _get(pull, "base", "repo", "full_name") or _get(repository, "full_name")
    if not isinstance(repo, str) or "/" not in repo:
        raise PayloadError("base.repo.full_name: must name the repository as owner/repo")
    html_url = pull.get("html_url")
    if not isinstance(html_url, str):
        raise PayloadError("html_url: must be a string")
    if not merged_at:
        raise PayloadError("merged_at: a merged pull request must have a merge time")
    occurred_at = _utc_seconds(merged_at)
    points, explanation = _points(pull, rules)
    draft = EventDraft(
        id=f"github:pr:{_ascii_lower(repo)}#{number}",
        period=period_of(occurred_at),
        occurred_at=occurred_at,
        contributor=f"github:{author_id}",
        kind=rules.kind,
        points=points,
        rules=rules.version,
        ref=html_url,
        source_sha256=hashlib.sha256(payload).hexdigest(),
    )
    try:
        draft.validate()
    except EventError as exc:
        raise PayloadError(f"the pull request does not make a valid event: {exc}") from None
    return Scored(draft=draft, explanation=tuple(explanation), number=number, author_id=author_id)


def _label_names(pull: dict[str, Any]) -> list[str]:
    labels = pull.get("labels") or []
    if not isinstance(labels, list):
        raise PayloadError("labels: must be an array")
    names = []
    for label in labels:
        name = label.get("name") if isinstance(label, dict) else label
        if not isinstance(name, str):
            raise PayloadError(f"labels: every label needs a name, found {label!r}")
        names.append(name)
    return names


def _points(pull: dict[str, Any], rules: Rules) -> tuple[int, list[str]]:
    names = _label_names(pull)
    sizes = [
        (name, rules.size_labels[_ascii_lower(name)])
        for name in names
        if _ascii_lower(name) in rules.size_labels
    ]
    explanation: list[str] = []
    if len(sizes) != 1:
        found = ", ".join(name for name, _ in sizes) or "none"
        explanation.append(
            f"size labels: exactly one of {', '.join(rules.size_labels)} is required, found "
            f"{found}: 0 points (an adjustment event can correct it)"
        )
        return 0, explanation
    size_name, base = sizes[0]
    explanation.append(f"size label {size_name}: {base} base points")
    bonuses = {
        _ascii_lower(name): rules.bonus_labels[_ascii_lower(name)]
        for name in names
        if _ascii_lower(name) in rules.bonus_labels
    }
    bonus = 0
    if base > 0:
        for name, value in sorted(bonuses.items()):
            explanation.append(f"bonus label {name}: +{value}")
            bonus += value
        if bonus > rules.max_bonus:
            explanation.append(f"bonus capped at {rules.max_bonus} (was {bonus})")
            bonus = rules.max_bonus
    explanation.append(f"total: {base} + {bonus} = {base + bonus} points")
    return base + bonus, explanation
