"""A small OpenAI-compatible chat-completions server, run as its own process by the tests and
the mentor benchmark (`python -m tests.chat_completions --port N --log FILE`).

It streams like the real protocol (`data: {chunk}` lines, a usage chunk, `data: [DONE]`).
The last user message steers it, so a test chooses the behaviour in its question:

- `[[status:N]]` answers HTTP N with an OpenAI-style error body;
- `[[slow:S]]` waits S seconds before the first chunk;
- `[[stall]]` sends one chunk, then nothing for a minute;
- `[[malformed]]` sends one chunk, then a line that is not JSON;
- `[[empty]]` streams no text at all;
- `[[say:TEXT]]` answers exactly TEXT; otherwise a fixed reflective reply.

Every request is appended to the log file as one JSON line: its headers and body, so a test
can inspect what the API sent (and with which key).
"""

import argparse
import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import uvicorn

DEFAULT_REPLY = (
    "Thank you for sharing this. Your chart suggests a season of patient growth; notice which "
    "small choices feel like yours. What would one kind step look like today?"
)
MARKER = re.compile(r"\[\[(status|slow|stall|malformed|empty|say)(?::([^\]]*))?\]\]")


class ChatCompletions:
    def __init__(self, log: Path, chunk_delay: float, first_token_delay: float) -> None:
        self.log = log
        self.chunk_delay = chunk_delay
        self.first_token_delay = first_token_delay

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/health":
            await self._json(send, 200, {"ok": True})
            return
        if scope["path"] != "/v1/chat/completions":
            await self._json(send, 404, {"error": {"message": "not found"}})
            return
        request = json.loads(body)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        with self.log.open("a", encoding="utf-8") as log:
            log.write(json.dumps({"headers": headers, "body": request}) + "\n")
        last = next(
            (m["content"] for m in reversed(request["messages"]) if m["role"] == "user"), ""
        )
        markers = dict(MARKER.findall(last))
        if "status" in markers:
            status = int(markers["status"])
            await self._json(
                send, status, {"error": {"message": "upstream says no", "type": "test_error"}}
            )
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        await asyncio.sleep(float(markers.get("slow") or 0) + self.first_token_delay)
        reply = markers.get("say") or ("" if "empty" in markers else DEFAULT_REPLY)
        words = re.findall(r"\S+\s*", reply)
        created = int(time.time())
        for index, word in enumerate(words):
            await self._chunk(send, request["model"], created, {"content": word})
            if index == 0 and "stall" in markers:
                await asyncio.sleep(60)
            if index == 0 and "malformed" in markers:
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"data: {not json\n\n",
                        "more_body": True,
                    }
                )
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        usage = {
            "prompt_tokens": sum(len(m["content"]) // 4 for m in request["messages"]),
            "completion_tokens": len(words),
            "total_tokens": 0,
        }
        final = {
            "id": "chatcmpl-local",
            "object": "chat.completion.chunk",
            "created": created,
            "model": request["model"],
            "choices": [],
            "usage": usage,
        }
        await send({"type": "http.response.body", "body": _sse(final), "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})

    @staticmethod
    async def _chunk(send: Any, model: str, created: int, delta: dict[str, str]) -> None:
        chunk = {
            "id": "chatcmpl-local",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        await send({"type": "http.response.body", "body": _sse(chunk), "more_body": True})

    @staticmethod
    async def _json(send: Any, status: int, body: dict[str, Any]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def _sse(document: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(document).encode() + b"\n\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--first-token-delay", type=float, default=0.0)
    arguments = parser.parse_args()
    app = ChatCompletions(arguments.log, arguments.chunk_delay, arguments.first_token_delay)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=arguments.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
