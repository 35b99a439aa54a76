"""Direct and group threads, messages, reactions, receipts and sync, through HTTP."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.app import create_app
from selflink_api.settings import Settings
from tests.api.conftest import app_client, drain_jobs
from tests.api.content_helpers import relate
from tests.api.live import live_server
from tests.api.messaging_helpers import direct_thread, group, send, thread_of
from tests.api.people import PASSWORD, register
from tests.api.test_auth import sql
from tests.api.test_feed import TRANSACTION_CONTROL, counted_statements

Client = AsyncTestClient[Litestar]
pytestmark = pytest.mark.anyio


async def test_a_pair_has_one_direct_thread_201_then_200_from_either_side(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    first = await client.post("/api/v1/threads/direct", json={"handle": "ben"}, headers=ana.headers)
    again = await client.post(
        "/api/v1/threads/direct", json={"handle": "@Ana"}, headers=ben.headers
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["kind"] == "direct"
    assert sorted(m["person"]["handle"] for m in first.json()["members"]) == ["ana", "ben"]
    myself = await client.post(
        "/api/v1/threads/direct", json={"handle": "ana"}, headers=ana.headers
    )
    assert myself.status_code == 422


async def test_opening_two_direct_threads_at_once_makes_one(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/threads/direct", json={"handle": h}, headers=p.headers)
            for p, h in [(ana, "ben"), (ben, "ana"), (ana, "ben")]
        )
    )
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(a.status_code for a in answers) == [200, 200, 201]


@pytest.mark.parametrize(
    ("policy", "follows", "allowed"),
    [
        ("everyone", False, True),
        ("following", False, False),
        ("following", True, True),
        ("nobody", True, False),
        ("matches", True, False),  # neither has matching set up: no match
    ],
)
async def test_dm_policy_decides_who_may_open_a_thread(
    client: Client, policy: str, follows: bool, allowed: bool
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    answer = await client.put(
        "/api/v1/messaging/settings", json={"dm_policy": policy}, headers=ben.headers
    )
    assert answer.status_code == 200
    if follows:
        await relate(client, ben, "follow", ana)
    opened = await client.post(
        "/api/v1/threads/direct", json={"handle": "ben"}, headers=ana.headers
    )
    assert opened.status_code == (201 if allowed else 403), opened.text
    setting = await client.get("/api/v1/messaging/settings", headers=ben.headers)
    assert setting.json() == {"dm_policy": policy}


async def test_a_block_either_way_ends_direct_messaging(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    await send(client, ana, thread["id"], "before")
    await relate(client, ben, "block", ana)
    for sender in (ana, ben):
        refused = await client.post(
            f"/api/v1/threads/{thread['id']}/messages",
            json={"client_id": uuid.uuid4().hex, "text": "after"},
            headers=sender.headers,
        )
        assert refused.status_code == 403, refused.text
    # the history stays readable; a new thread cannot be opened by a stranger either way
    history = await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=ana.headers)
    assert [m["text"] for m in history.json()["items"]] == ["before"]
    cara = await register(client, "cara")
    await relate(client, cara, "block", ana)
    refused = await client.post(
        "/api/v1/threads/direct", json={"handle": "cara"}, headers=ana.headers
    )
    unknown = await client.post(
        "/api/v1/threads/direct", json={"handle": "nobody_here"}, headers=ana.headers
    )
    assert refused.status_code == unknown.status_code == 403
    assert refused.json()["detail"].replace("cara", "X") == unknown.json()["detail"].replace(
        "nobody_here", "X"
    )


async def test_a_resent_client_id_returns_the_stored_message_with_the_same_status(
    client: Client,
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    body = {"client_id": "phone-1", "text": "once"}
    url = f"/api/v1/threads/{thread['id']}/messages"
    first = await client.post(url, json=body, headers=ana.headers)
    again = await client.post(url, json={**body, "text": "changed?"}, headers=ana.headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    # the same client id from another sender is another message
    other = await client.post(url, json=body, headers=ben.headers)
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    history = await client.get(url, headers=ana.headers)
    assert [m["text"] for m in history.json()["items"]] == ["once", "once"]


async def test_concurrent_retries_store_one_message_on_postgresql(
    postgres_settings: Settings,
) -> None:
    settings = postgres_settings
    async with app_client(create_app(settings)) as client:
        ana, ben = await register(client, "ana"), await register(client, "ben")
        thread = await direct_thread(client, ana, ben)
    # A real server, so the retries really run in parallel on several connections.
    async with live_server(create_app(settings)) as base_url, httpx.AsyncClient() as http:
        url = f"{base_url}/api/v1/threads/{thread['id']}/messages"
        body = {"client_id": "retry-me", "text": "exactly once"}
        answers = await asyncio.gather(
            *(http.post(url, json=body, headers=ana.headers) for _ in range(12))
        )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    rows = await sql(settings, "SELECT count(*) FROM messages WHERE client_id = 'retry-me'")
    assert rows[0][0] == 1


async def test_groups_admins_members_and_leaving(client: Client) -> None:
    ana, ben, cara, dan = [await register(client, h) for h in ("ana", "ben", "cara", "dan")]
    thread_id = await group(client, ana, ben, title="Saturn return")
    view = await thread_of(client, ana, thread_id)
    assert view["title"] == "Saturn return"
    assert view["my_role"] == "admin"
    assert view["member_count"] == 2
    members_url = f"/api/v1/threads/{thread_id}/members"
    refused = await client.post(members_url, json={"handles": ["cara"]}, headers=ben.headers)
    assert refused.status_code == 403
    added = await client.post(members_url, json={"handles": ["cara", "dan"]}, headers=ana.headers)
    assert added.status_code == 200
    assert added.json()["member_count"] == 4
    removed = await client.delete(f"{members_url}/dan", headers=ben.headers)
    assert removed.status_code == 403
    removed = await client.delete(f"{members_url}/dan", headers=ana.headers)
    assert removed.status_code == 204
    gone = await client.get(f"/api/v1/threads/{thread_id}", headers=dan.headers)
    assert gone.status_code == 404
    demote = await client.put(
        f"{members_url}/ana/role", json={"role": "member"}, headers=ana.headers
    )
    assert demote.status_code == 409  # the last admin
    # the admin leaves: the longest-standing member becomes admin
    assert (await client.delete(f"{members_url}/ana", headers=ana.headers)).status_code == 204
    roles = {
        m["person"]["handle"]: m["role"]
        for m in (await thread_of(client, ben, thread_id))["members"]
    }
    assert roles == {"ben": "admin", "cara": "member"}
    rename = await client.patch(
        f"/api/v1/threads/{thread_id}", json={"title": "New name"}, headers=ben.headers
    )
    assert rename.status_code == 200
    assert rename.json()["title"] == "New name"
    for person in (ben, cara):
        left = await client.delete(f"{members_url}/{person.handle}", headers=person.headers)
        assert left.status_code == 204
    await drain_jobs(client)
    rows = await sql(client.app.state.settings, "SELECT count(*) FROM threads")
    assert rows[0][0] == 0


async def test_a_new_member_sees_only_what_was_sent_after_joining(client: Client) -> None:
    ana, ben, cara = [await register(client, h) for h in ("ana", "ben", "cara")]
    thread_id = await group(client, ana, ben)
    old = await send(client, ana, thread_id, "before cara")
    await client.post(
        f"/api/v1/threads/{thread_id}/members", json={"handles": ["cara"]}, headers=ana.headers
    )
    await send(client, ben, thread_id, "after cara")
    history = await client.get(f"/api/v1/threads/{thread_id}/messages", headers=cara.headers)
    assert [m["text"] for m in history.json()["items"]] == ["after cara"]
    react = await client.put(
        f"/api/v1/messages/{old['id']}/reactions/%F0%9F%91%8D", headers=cara.headers
    )
    assert react.status_code == 404
    view = await thread_of(client, cara, thread_id)
    assert view["unread_count"] == 1


async def test_replies_edits_tombstones_and_reactions(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    question = await send(client, ana, thread["id"], "Coffee on Saturday? " + "x" * 200)
    answer = await send(client, ben, thread["id"], "Yes!", reply_to=question["id"])
    assert answer["reply_to"]["id"] == question["id"]
    assert answer["reply_to"]["excerpt"] == ("Coffee on Saturday? " + "x" * 200)[:100]
    assert answer["reply_to"]["sender"]["handle"] == "ana"
    other = await direct_thread(client, ana, await register(client, "cara"))
    foreign = await send(client, ana, other["id"], "elsewhere")
    wrong = await client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        json={"client_id": "x1", "text": "hm", "reply_to": foreign["id"]},
        headers=ben.headers,
    )
    assert wrong.status_code == 422
    not_mine = await client.patch(
        f"/api/v1/messages/{question['id']}", json={"text": "hijack"}, headers=ben.headers
    )
    assert not_mine.status_code == 403
    edited = await client.patch(
        f"/api/v1/messages/{question['id']}",
        json={"text": "Coffee on Sunday?"},
        headers=ana.headers,
    )
    assert edited.status_code == 200
    assert edited.json()["edited_at"] is not None
    heart = "/api/v1/messages/{}/reactions/%E2%9D%A4%EF%B8%8F".format(answer["id"])
    for person in (ana, ana, ben):  # twice is once
        assert (await client.put(heart, headers=person.headers)).status_code == 204
    not_an_emoji = await client.put(
        f"/api/v1/messages/{answer['id']}/reactions/ab", headers=ana.headers
    )
    assert not_an_emoji.status_code == 422
    history = await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=ana.headers)
    latest = history.json()["items"][0]
    assert latest["reactions"] == [{"emoji": "❤️", "count": 2, "reacted_by_me": True}]
    assert (await client.delete(heart, headers=ana.headers)).status_code == 204
    assert (await client.delete(heart, headers=ana.headers)).status_code == 204
    deleted = await client.delete(f"/api/v1/messages/{question['id']}", headers=ana.headers)
    assert deleted.status_code == 204
    items = (
        await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=ben.headers)
    ).json()["items"]
    assert items[0]["reactions"] == [{"emoji": "❤️", "count": 1, "reacted_by_me": True}]
    assert items[0]["reply_to"] == {
        "id": question["id"],
        "sender": items[1]["sender"],
        "excerpt": "",
        "deleted": True,
    }
    assert (items[1]["text"], items[1]["deleted"]) == ("", True)


async def test_unread_counts_receipts_and_the_thread_list_order(client: Client) -> None:
    ana, ben, cara = [await register(client, h) for h in ("ana", "ben", "cara")]
    with_ben = await direct_thread(client, ana, ben)
    with_cara = await direct_thread(client, ana, cara)
    for text in ("one", "two", "three"):
        await send(client, ben, with_ben["id"], text)
    await send(client, ana, with_ben["id"], "mine")
    last = await send(client, cara, with_cara["id"], "newest")
    page = (await client.get("/api/v1/threads", headers=ana.headers)).json()
    assert [t["id"] for t in page["items"]] == [with_cara["id"], with_ben["id"]]
    assert [t["unread_count"] for t in page["items"]] == [1, 0]  # sending read what came before
    assert page["items"][0]["last_message"]["text"] == "newest"
    ben_view = await thread_of(client, ben, with_ben["id"])
    assert ben_view["unread_count"] == 1  # ana's message, not his own three
    url = f"/api/v1/threads/{with_cara['id']}/read"
    assert (
        await client.put(url, json={"seq": last["seq"]}, headers=ana.headers)
    ).status_code == 204
    assert (await client.put(url, json={"seq": 0}, headers=ana.headers)).status_code == 204
    view = await thread_of(client, ana, with_cara["id"])
    assert (view["read_seq"], view["delivered_seq"], view["unread_count"]) == (last["seq"],) * 2 + (
        0,
    )
    delivered = f"/api/v1/threads/{with_cara['id']}/delivered"
    await client.put(delivered, json={"seq": 10**9}, headers=cara.headers)
    mine = {
        m["person"]["handle"]: m for m in (await thread_of(client, ana, with_cara["id"]))["members"]
    }
    assert mine["cara"]["delivered_seq"] == last["seq"]  # never past the newest message


async def test_the_thread_list_costs_the_same_few_queries_whatever_its_length(
    client: Client,
) -> None:
    ana = await register(client, "ana")
    counts = []
    for round_size in (2, 8):
        for _ in range(round_size):
            other = await register(client, f"p{uuid.uuid4().hex[:8]}")
            thread = await direct_thread(client, ana, other)
            await send(client, other, thread["id"], "hello")
        await drain_jobs(client)  # the notifications of the messages are not the list's cost
        with counted_statements() as statements:
            page = await client.get("/api/v1/threads?limit=50", headers=ana.headers)
        assert page.status_code == 200
        counts.append(len([s for s in statements if not s.startswith(TRANSACTION_CONTROL)]))
    assert counts[0] == counts[1] <= 9, counts


async def test_changes_since_a_cursor_catch_a_client_up_exactly(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    sent = [await send(client, ana, thread["id"], f"m{i}") for i in range(5)]
    url = f"/api/v1/threads/{thread['id']}/changes"
    seen = (await client.get(f"{url}?since=0&limit=2", headers=ben.headers)).json()
    assert [m["text"] for m in seen["items"]] == ["m0", "m1"]
    assert seen["has_more"]
    cursor = seen["next_since"]
    # offline: an edit, a deletion and a reaction happen
    await client.patch(
        f"/api/v1/messages/{sent[0]['id']}", json={"text": "m0!"}, headers=ana.headers
    )
    await client.delete(f"/api/v1/messages/{sent[3]['id']}", headers=ana.headers)
    await client.put(
        f"/api/v1/messages/{sent[1]['id']}/reactions/%F0%9F%8E%89", headers=ben.headers
    )
    caught: list[dict[str, Any]] = []
    while True:
        page = (await client.get(f"{url}?since={cursor}&limit=2", headers=ben.headers)).json()
        caught += page["items"]
        cursor = page["next_since"]
        if not page["has_more"]:
            break
    state = {m["id"]: m for m in caught}
    assert [m["text"] for m in caught if not m["deleted"]][:1] == ["m2"]
    assert state[sent[0]["id"]]["text"] == "m0!"
    assert state[sent[3]["id"]]["deleted"] is True
    assert state[sent[1]["id"]]["reactions"][0]["emoji"] == "🎉"
    assert len(caught) == len(state)  # each change once
    assert cursor == (await thread_of(client, ben, thread["id"]))["last_seq"]
    empty = (await client.get(f"{url}?since={cursor}", headers=ben.headers)).json()
    assert empty == {"items": [], "next_since": cursor, "has_more": False}


async def test_outsiders_get_one_404_for_every_thread_and_message(client: Client) -> None:
    ana, ben, eve = [await register(client, h) for h in ("ana", "ben", "eve")]
    thread = await direct_thread(client, ana, ben)
    message = await send(client, ana, thread["id"])
    tid, mid = thread["id"], message["id"]
    attempts = [
        ("GET", f"/api/v1/threads/{tid}", None),
        ("GET", f"/api/v1/threads/{tid}/messages", None),
        ("GET", f"/api/v1/threads/{tid}/changes", None),
        ("POST", f"/api/v1/threads/{tid}/messages", {"client_id": "e", "text": "hi"}),
        ("PUT", f"/api/v1/threads/{tid}/read", {"seq": 1}),
        ("PATCH", f"/api/v1/messages/{mid}", {"text": "x"}),
        ("DELETE", f"/api/v1/messages/{mid}", None),
        ("PUT", f"/api/v1/messages/{mid}/reactions/%F0%9F%91%8D", None),
    ]
    for method, url, body in attempts:
        answer = await client.request(method, url, json=body, headers=eve.headers)
        assert answer.status_code == 404, (method, url, answer.text)


async def test_message_text_is_encrypted_at_rest_and_exported(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    await send(client, ana, thread["id"], "a very private sentence")
    settings = client.app.state.settings
    stored = await sql(settings, "SELECT ciphertext FROM messages")
    assert b"private sentence" not in bytes(stored[0][0])
    export = (await client.get("/api/v1/users/me/export", headers=ana.headers)).json()
    assert [m["text"] for m in export["messaging"]["messages_sent"]] == ["a very private sentence"]
    assert export["messaging"]["threads"][0]["id"] == thread["id"]


async def test_a_deleted_account_leaves_tombstones_without_a_sender(client: Client) -> None:
    ana, ben, cara = [await register(client, h) for h in ("ana", "ben", "cara")]
    thread_id = await group(client, ana, ben, cara)
    mine = await send(client, ben, thread_id, "ben's words")
    reply = await send(client, ana, thread_id, "answer", reply_to=mine["id"])
    await client.put(f"/api/v1/messages/{reply['id']}/reactions/%F0%9F%91%8D", headers=ben.headers)
    gone = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": PASSWORD}, headers=ben.headers
    )
    assert gone.status_code == 204
    await drain_jobs(client)
    items = (await client.get(f"/api/v1/threads/{thread_id}/messages", headers=ana.headers)).json()[
        "items"
    ]
    assert items[1] | {"created_at": None} == items[1] | {
        "created_at": None,
        "text": "",
        "deleted": True,
        "sender": None,
    }
    assert items[0]["reply_to"]["excerpt"] == ""
    assert items[0]["reactions"] == []
    view = await thread_of(client, ana, thread_id)
    assert sorted(m["person"]["handle"] for m in view["members"]) == ["ana", "cara"]
    stored = await sql(
        client.app.state.settings, "SELECT count(*) FROM messages WHERE ciphertext IS NOT NULL"
    )
    assert stored[0][0] == 1


async def test_hostile_text_and_titles_get_422(client: Client) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    thread = await direct_thread(client, ana, ben)
    url = f"/api/v1/threads/{thread['id']}/messages"
    for text in ("   ", "evil\u202eredaeh", "x" * 5001, "bell\x07"):
        answer = await client.post(url, json={"client_id": "c1", "text": text}, headers=ana.headers)
        assert answer.status_code == 422, text
        assert answer.headers["content-type"].startswith("application/problem+json")
    bad_id = await client.post(
        url, json={"client_id": "no spaces", "text": "hi"}, headers=ana.headers
    )
    assert bad_id.status_code == 422
    title = await client.post(
        "/api/v1/threads/groups", json={"title": "two\nlines"}, headers=ana.headers
    )
    assert title.status_code == 422


async def test_sending_is_rate_limited(settings: Settings) -> None:
    async with app_client(
        create_app(settings.model_copy(update={"messaging_messages_per_minute": 3}))
    ) as client:
        ana, ben = await register(client, "ana"), await register(client, "ben")
        thread = await direct_thread(client, ana, ben)
        url = f"/api/v1/threads/{thread['id']}/messages"
        codes = [
            (
                await client.post(
                    url, json={"client_id": f"c{i}", "text": "hi"}, headers=ana.headers
                )
            ).status_code
            for i in range(4)
        ]
        assert codes == [201, 201, 201, 429]
        retry = await client.post(url, json={"client_id": "c0", "text": "hi"}, headers=ana.headers)
        assert retry.status_code == 201  # a retry of a stored message is not a new send
