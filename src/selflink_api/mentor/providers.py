"""Where replies come from: the built-in writer, or any OpenAI-compatible chat-completions
server through the official `openai` client. Nothing else talks to a model.

A provider turns a `ProviderRequest` into a stream of text pieces, ending with a `Usage`.
Failures are `ProviderError`s of two kinds, `upstream` (502) and `timeout` (504); no provider
ever makes up an answer in their place.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, cast

import msgspec
import structlog

from selflink_api.settings import Settings
from selflink_core.mentor import (
    ChartFacts,
    compose_reply,
    estimate_tokens,
    stream_pieces,
)
from selflink_core.mentor.compose import MatchFacts

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

logger = structlog.get_logger("selflink.mentor")

BUILTIN = "builtin"
OPENAI_COMPATIBLE = "openai-compatible"
BUILTIN_MODEL = "templates-1"


class ChatTurn(msgspec.Struct, array_like=True):
    role: str
    content: str


class ProviderRequest(msgspec.Struct, kw_only=True):
    """All a provider needs: the chat messages for a model, and the same facts in structured
    form for the built-in writer. Stored sealed on a pending reply for the queued job."""

    messages: list[ChatTurn]
    mode: str
    language: str
    first_name: str
    topic: str
    seed: str
    facts: ChartFacts
    match: MatchFacts | None = None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


ErrorKind = Literal["upstream", "timeout"]


class ProviderError(Exception):
    """The provider failed; `kind` says how. The message never holds the upstream's text."""

    def __init__(self, kind: ErrorKind) -> None:
        super().__init__(kind)
        self.kind: ErrorKind = kind


class Provider(Protocol):
    name: str
    model: str

    def stream(
        self, request: ProviderRequest, *, api_key: str | None
    ) -> AsyncIterator[str | Usage]: ...

    async def close(self) -> None: ...


class BuiltinProvider:
    """Templates and the person's facts (selflink_core.mentor.compose_reply); no network."""

    name = BUILTIN
    model = BUILTIN_MODEL

    async def stream(
        self, request: ProviderRequest, *, api_key: str | None
    ) -> AsyncIterator[str | Usage]:
        del api_key  # the built-in writer needs none
        text = compose_reply(
            mode=request.mode,
            language=request.language,
            first_name=request.first_name,
            facts=request.facts,
            topic=request.topic,
            seed=request.seed,
            match=request.match,
        )
        for piece in stream_pieces(text):
            yield piece
            await asyncio.sleep(0)  # let other streams run between pieces
        prompt = sum(estimate_tokens(turn.content) for turn in request.messages)
        yield Usage(prompt, estimate_tokens(text))

    async def close(self) -> None:
        return None


class OpenAICompatibleProvider:
    """One `openai.AsyncOpenAI` client for every OpenAI-compatible server (OpenAI, Ollama,
    vLLM, LM Studio…): base URL, model, timeouts and retries from the settings. A key brought
    by the person replaces the configured one for that call only (`with_options`)."""

    name = OPENAI_COMPATIBLE

    def __init__(self, settings: Settings) -> None:
        import openai  # noqa: PLC0415 - a second at every process's start, for a rare provider

        self.model = settings.mentor_model
        self.max_tokens = settings.mentor_max_reply_tokens
        self.client = openai.AsyncOpenAI(
            base_url=settings.mentor_base_url or None,
            # Local servers need no key, but the client insists on one.
            api_key=settings.mentor_api_key.get_secret_value() or "no-key",
            timeout=openai.Timeout(
                settings.mentor_read_timeout_seconds,
                connect=settings.mentor_connect_timeout_seconds,
            ),
            max_retries=settings.mentor_max_retries,
        )

    async def stream(
        self, request: ProviderRequest, *, api_key: str | None
    ) -> AsyncIterator[str | Usage]:
        import openai  # noqa: PLC0415 - see __init__

        client = self.client.with_options(api_key=api_key) if api_key else self.client
        reported: Usage | None = None
        written: list[str] = []
        try:
            stream = await client.chat.completions.create(
                model=self.model,
                messages=cast(
                    "list[ChatCompletionMessageParam]",
                    [{"role": t.role, "content": t.content} for t in request.messages],
                ),
                max_tokens=self.max_tokens,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        reported = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices:
                        piece = choice.delta.content if choice.delta else None
                        if piece:
                            written.append(piece)
                            yield piece
        except openai.APITimeoutError:
            raise ProviderError("timeout") from None
        except Exception as error:  # any failure of the upstream, malformed chunks included
            logger.warning("mentor_provider_failed", error=type(error).__name__)
            raise ProviderError("upstream") from None
        if not written:
            logger.warning("mentor_provider_failed", error="EmptyReply")
            raise ProviderError("upstream")
        yield reported or Usage(
            sum(estimate_tokens(t.content) for t in request.messages),
            estimate_tokens("".join(written)),
        )

    async def close(self) -> None:
        await self.client.close()


def build_provider(settings: Settings) -> Provider:
    if settings.mentor_provider == "openai":
        return OpenAICompatibleProvider(settings)
    return BuiltinProvider()
