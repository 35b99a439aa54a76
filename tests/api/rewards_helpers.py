"""GitHub payloads and signed deliveries for the rewards API tests."""

import hashlib
import hmac
import json
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.people import remember

WEBHOOK_SECRET = "test-webhook-secret-0123456789"
remember(WEBHOOK_SECRET)


def pr_payload(
    number: int,
    author_id: int,
    *,
    merged_at: str | None = "2026-10-05T12:34:56Z",
    labels: tuple[str, ...] = ("size:m",),
    repo: str = "selflink/selflink",
    user_type: str = "User",
) -> bytes:
    pull = {
        "number": number,
        "html_url": f"https://github.com/{repo}/pull/{number}",
        "merged": merged_at is not None,
        "merged_at": merged_at,
        "user": {"id": author_id, "login": f"dev{author_id}", "type": user_type},
        "labels": [{"name": name} for name in labels],
        "base": {"repo": {"full_name": repo}},
    }
    body = {
        "action": "closed",
        "number": number,
        "pull_request": pull,
        "repository": {"full_name": repo},
    }
    return json.dumps(body, indent=1).encode()


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(
    client: AsyncTestClient[Litestar],
    body: bytes,
    *,
    delivery_id: str | None = None,
    event: str = "pull_request",
    secret: str = WEBHOOK_SECRET,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Any:
    sent = {
        "content-type": content_type,
        "x-github-event": event,
        "x-github-delivery": delivery_id or str(uuid.uuid4()),
        "x-hub-signature-256": signature(body, secret),
    } | (headers or {})
    return await client.post("/api/v1/rewards/github/webhook", content=body, headers=sent)
