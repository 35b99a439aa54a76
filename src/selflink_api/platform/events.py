"""Domain events: one domain announces a fact, others react in background jobs.

A publisher never knows its subscribers; `create_app` wires them. Each subscriber is a job,
run with the event's payload (ids only) after the publishing transaction commits: in this
process without Redis, else by the workers reading the event stream (`platform/event_stream.py`).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from selflink_api.platform.jobs import JobDefinition, JobQueue

ACCOUNT_DELETED = "account.deleted"
BIRTH_DATA_CHANGED = "birth_data.changed"
"""Birth data was replaced or removed (PUT or DELETE /astro/birth-data, PATCH /users/me)."""
SIGNED_OUT_EVERYWHERE = "account.signed_out_everywhere"
"""user_id; every session of the account was ended by POST /auth/logout-all."""
PERSON_FOLLOWED = "person.followed"
"""follower_id, followee_id; only when the follow is new."""
PAYOUT_STATE_CHANGED = "payout.state_changed"
"""payout_id, state; when staff move a payout (a repeated transition publishes nothing)."""
MATCH_FEATURES_READY = "matching.features_ready"
"""user_id; their matching features were (re)computed, so suggestions for them may change."""
POST_CREATED = "post.created"
"""post_id, author_id."""
COMMENT_CREATED = "comment.created"
"""comment_id, post_id, author_id, post_author_id, reply_to_author_id (or None)."""
POST_LIKED = "post.liked"
"""post_id, user_id (who liked), author_id; only when the like is new."""
COMMENT_LIKED = "comment.liked"
"""comment_id, post_id, user_id (who liked), author_id; only when the like is new."""
PERSON_MENTIONED = "person.mentioned"
"""user_id (who is named), author_id, post_id, comment_id (or None); once per person and text."""

MESSAGE_SENT = "message.sent"
"""message_id, thread_id, sender_id, recipient_ids (the thread's other members when it was sent,
or None past `messaging.services.RECIPIENTS_IN_EVENT` of them); once per message (a retried
client id publishes nothing)."""
MODERATION_DECIDED = "moderation.decided"
"""decision_id, user_id (the person the decision is about), action, reason; once per decision."""


class EventBus:
    def __init__(self, subscribers: Mapping[str, Sequence[JobDefinition]]) -> None:
        self._subscribers = subscribers

    async def publish(self, jobs: JobQueue, event: str, **payload: Any) -> None:
        if self._subscribers.get(event):
            jobs.announce(event, payload)

    def subscribers_of(self, event: str) -> Sequence[JobDefinition]:
        return self._subscribers.get(event, ())
