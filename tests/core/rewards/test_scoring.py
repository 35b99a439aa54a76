"""Rules v1 for GitHub pull requests (spec §2)."""

import hashlib
import json

import pytest

from selflink_core.rewards import (
    NotScored,
    PayloadError,
    Scored,
    UnknownRulesError,
    available_rules,
    score_pull_request,
)


def pull(**changes: object) -> dict[str, object]:
    pr: dict[str, object] = {
        "number": 42,
        "html_url": "https://github.com/SelfLink/Backend/pull/42",
        "merged": True,
        "merged_at": "2025-03-04T10:11:12Z",
        "user": {"id": 583231, "login": "ana", "type": "User"},
        "labels": [{"name": "size:m"}],
        "base": {"repo": {"full_name": "SelfLink/Backend"}},
    }
    pr.update(changes)
    return pr


def webhook(action: str = "closed", **changes: object) -> bytes:
    return json.dumps({"action": action, "pull_request": pull(**changes)}).encode()


def scored(payload: bytes) -> Scored:
    result = score_pull_request(payload)
    assert isinstance(result, Scored), result
    return result


def test_a_merged_pr_becomes_a_pr_merged_event():
    payload = webhook()
    draft = scored(payload).draft
    assert draft.id == "github:pr:selflink/backend#42"
    assert draft.contributor == "github:583231"
    assert (draft.kind, draft.points, draft.rules) == ("pr_merged", 5, "v1")
    assert draft.occurred_at == "2025-03-04T10:11:12Z"
    assert draft.period == "2025-03"
    assert draft.ref == "https://github.com/SelfLink/Backend/pull/42"
    assert draft.source_sha256 == hashlib.sha256(payload).hexdigest()
    assert draft.reverses == ""


@pytest.mark.parametrize(
    ("labels", "points"),
    [
        (["size:xs"], 1),
        (["SIZE:S"], 3),
        (["Size:L"], 8),
        (["size:xl"], 13),
        (["size:m", "bonus:security"], 7),
        (["size:m", "bonus:infra"], 6),
        (["size:m", "BONUS:SECURITY", "bonus:infra"], 8),
        ([], 0),
        (["size:m", "size:l"], 0),
        (["bonus:security"], 0),
        (["size: m", "sizes:m", "size:mm"], 0),
    ],
)
def test_labels_give_points(labels, points):
    result = scored(webhook(labels=[{"name": name} for name in labels]))
    assert result.draft.points == points
    assert result.explanation


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (webhook(action="opened"), "not 'closed'"),
        (webhook(merged=False, merged_at=None), "without being merged"),
        (webhook(user={"id": 49699333, "type": "Bot"}), "Bot"),
    ],
)
def test_no_event_and_why(payload, reason):
    result = score_pull_request(payload)
    assert isinstance(result, NotScored)
    assert reason in result.reason


def test_the_rest_pull_request_object_scores_too():
    assert scored(json.dumps(pull()).encode()).draft.id == "github:pr:selflink/backend#42"


def test_merge_time_is_truncated_to_seconds_in_utc():
    draft = scored(webhook(merged_at="2025-03-31T23:30:59.987+02:00")).draft
    assert draft.occurred_at == "2025-03-31T21:30:59Z"
    assert scored(webhook(merged_at="2025-03-31T23:30:00-02:00")).draft.period == "2025-04"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b"{}", "not a pull_request"),
        (webhook(user={"type": "User"}), "user.id"),
        (webhook(merged_at="yesterday"), "merged_at"),
        (webhook(merged_at="2025-03-04T10:11:12"), "time zone"),
        (webhook(merged_at="0001-01-01T00:00:00+01:00"), "no UTC time"),
        (webhook(merged_at="9999-12-31T23:00:00-02:00"), "no UTC time"),
        (webhook(labels=[{"color": "red"}]), "labels"),
        (webhook(base={}), "full_name"),
        (webhook(html_url=None), "html_url"),
    ],
)
def test_unreadable_payloads_are_errors(payload, reason):
    with pytest.raises(PayloadError, match=reason):
        score_pull_request(payload)


def test_rules_are_versioned_data():
    assert "v1" in available_rules()
    with pytest.raises(UnknownRulesError, match="available: v1"):
        score_pull_request(webhook(), "v0")


def test_bonus_total_is_capped():
    from selflink_core.rewards.scoring import Rules, _points

    rules = Rules(
        version="test",
        kind="pr_merged",
        size_labels={"size:m": 5},
        bonus_labels={"bonus:a": 2, "bonus:b": 2},
        max_bonus=3,
        ignored_author_types=frozenset(),
    )
    points, explanation = _points(pull(labels=["size:m", "bonus:a", "bonus:b"]), rules)
    assert points == 8
    assert any("capped at 3" in line for line in explanation)
