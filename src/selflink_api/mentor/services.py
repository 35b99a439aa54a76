"""The rules of the mentor: sessions per mode, what the model may know, safety, limits,
accounting, and the sealed storage of every message.

Services work inside the caller's transaction and never commit. The astro and matching
domains are reached through their services only: the natal chart and numerology come from
`AstroService`, and a match is discussed only while `MatchingService.match_with` allows it.
"""

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from selflink_api.accounts.models import User
from selflink_api.astro.schemas import ChartOptionsInput
from selflink_api.astro.services import AstroService, AstroToolkit
from selflink_api.matching.services import MatchingService, MatchingToolkit
from selflink_api.mentor.models import (
    MentorMemory,
    MentorMessage,
    MentorSession,
    MentorUsage,
    Role,
    Status,
)
from selflink_api.mentor.providers import ChatTurn, ProviderRequest, Usage
from selflink_api.mentor.schemas import Ask, MessageView, SessionView, UsageView
from selflink_api.platform.crypto import Encrypted, PersonalDataCipher
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import CONFLICT, NOT_FOUND, RATE_LIMITED, ProblemError
from selflink_api.platform.ratelimit import AttemptLimiter
from selflink_api.platform.values import text_problem
from selflink_api.settings import Settings
from selflink_core.mentor import (
    ChartFacts,
    Memory,
    chart_facts,
    detect_topic,
    facts_lines,
    fold_topics,
    is_crisis,
    policy_findings,
)
from selflink_core.mentor.compose import MatchFacts
from selflink_core.mentor.safety import Action

RATE_LIMIT_WINDOW_SECONDS = 60
USAGE_COUNTS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cost_micros",
    "crisis",
    "flagged",
)
SAFETY_PROVIDER = "safety"
CRISIS = "crisis"

DEFAULT_CRISIS_RESOURCES: dict[str, list[str]] = {
    "US": [
        "988 Suicide & Crisis Lifeline: call or text 988",
        "Crisis Text Line: text HOME to 741741",
    ],
    "CA": ["9-8-8 Suicide Crisis Helpline: call or text 988"],
    "GB": ["Samaritans: call 116 123 (free, 24 hours)", "Shout: text SHOUT to 85258"],
    "IE": ["Samaritans: call 116 123 (free, 24 hours)"],
    "DE": ["TelefonSeelsorge: 0800 111 0 111 or 0800 111 0 222 (kostenlos, rund um die Uhr)"],
    "AT": ["Telefonseelsorge: 142"],
    "FR": ["3114, numéro national de prévention du suicide (gratuit, 24h/24)"],
    "ES": ["Línea 024 de atención a la conducta suicida (gratuita, 24 horas)"],
    "PT": ["SNS 24: 808 24 24 24 (opção 4)", "SOS Voz Amiga: 213 544 545"],
    "BR": ["CVV: ligue 188 (gratuito, 24 horas)"],
    "MX": ["Línea de la Vida: 800 911 2000"],
    "AU": ["Lifeline: 13 11 14"],
    "*": [
        "If you are in immediate danger, call your local emergency number.",
        "Find a free, confidential helpline in your country: https://findahelpline.com",
    ],
}
"""Help lines per ISO country code; `*` is added to every answer. `MENTOR_CRISIS_RESOURCES`
(the same JSON shape) replaces this table."""

CRISIS_TEXT = {
    "en": "I'm really glad you told me. What you are feeling matters, and you deserve support "
    "from a person right now. I am not able to help with this the way a trained person can, "
    "so please reach out to one of these:",
    "es": "Me alegra mucho que me lo hayas contado. Lo que sientes importa y mereces el apoyo "
    "de una persona ahora mismo. No puedo ayudarte como alguien formado para ello, así que "
    "por favor contacta con alguno de estos recursos:",
    "fr": "Merci de me l'avoir dit. Ce que tu ressens compte, et tu mérites le soutien d'une "
    "personne dès maintenant. Je ne peux pas aider comme une personne formée, alors contacte "
    "s'il te plaît l'une de ces ressources :",
    "de": "Danke, dass du mir das sagst. Was du fühlst, zählt, und du verdienst jetzt die "
    "Unterstützung eines Menschen. Ich kann nicht so helfen wie jemand, der dafür ausgebildet "
    "ist; bitte wende dich an eine dieser Stellen:",
    "pt": "Obrigado por me contares. O que sentes importa e mereces o apoio de uma pessoa "
    "agora mesmo. Não consigo ajudar como alguém preparado para isso; por favor contacta um "
    "destes recursos:",
}
REPLACED_TEXT = {
    "en": "The mentor's reply was withheld: it gave health advice as if it were certain. "
    "Please talk to a doctor or pharmacist about treatment decisions.",
    "es": "La respuesta del mentor se retiró: daba un consejo de salud como si fuera seguro. "
    "Habla con un médico o farmacéutico sobre decisiones de tratamiento.",
    "fr": "La réponse du mentor a été retirée : elle donnait un conseil de santé comme une "
    "certitude. Parle de tout traitement à un médecin ou un pharmacien.",
    "de": "Die Antwort des Mentors wurde zurückgehalten: Sie gab einen Gesundheitsrat als "
    "sicher aus. Sprich über Behandlungen bitte mit Ärztin, Arzt oder Apotheke.",
    "pt": "A resposta do mentor foi retirada: dava um conselho de saúde como se fosse certo. "
    "Fala com um médico ou farmacêutico sobre decisões de tratamento.",
}
ANNOTATION_TEXT = {
    "en": "Note: this is a reflection, not a prediction or professional advice; the stars "
    "decide nothing for you.",
    "es": "Nota: esto es una reflexión, no una predicción ni un consejo profesional; las "
    "estrellas no deciden por ti.",
    "fr": "Note : ceci est une réflexion, ni une prédiction ni un conseil professionnel ; les "
    "astres ne décident rien à ta place.",
    "de": "Hinweis: Dies ist eine Reflexion, keine Vorhersage und keine fachliche Beratung; "
    "die Sterne entscheiden nichts für dich.",
    "pt": "Nota: isto é uma reflexão, não uma previsão nem um conselho profissional; os "
    "astros não decidem por ti.",
}
DEFAULT_PROMPTS = {
    "daily": "Write my short note for today.",
    "natal": "Give me a reading of my natal chart.",
}
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
}
SYSTEM_PROMPT = (
    "You are SelfLink's mentor: a warm, reflective guide who uses astrology and numerology "
    "as a mirror for self-reflection, never as fate. Answer in {language}, in at most 200 "
    "words. Never present medical, legal or financial directives as certain; suggest a "
    "professional instead. Never claim the chart decides what will happen. End with one "
    "open question."
)


def crisis_resources(settings: Settings) -> dict[str, list[str]]:
    """The help-line table: `MENTOR_CRISIS_RESOURCES` (JSON) or the built-in one."""
    if not settings.mentor_crisis_resources:
        return DEFAULT_CRISIS_RESOURCES
    table = json.loads(settings.mentor_crisis_resources)
    if not isinstance(table, dict) or not all(
        isinstance(v, list) and all(isinstance(line, str) for line in v) for v in table.values()
    ):
        msg = "MENTOR_CRISIS_RESOURCES must be a JSON object of country code -> list of lines"
        raise ValueError(msg)
    return table


class QuotaPolicy(Protocol):
    """How many mentor requests a person may make per UTC day: the app uses the quota of the
    person's plan (`payments.services.EntitlementQuota`; free is `MENTOR_DAILY_QUOTA`)."""

    async def daily_quota(self, session: AsyncSession, user_id: UUID) -> int: ...


@dataclass(frozen=True)
class MentorToolkit:
    """Long-lived helpers of the mentor, built once per app."""

    settings: Settings
    cipher: PersonalDataCipher
    limiter: AttemptLimiter
    astro: AstroToolkit
    matching: MatchingToolkit
    quota: QuotaPolicy
    resources: Mapping[str, list[str]] = field(default_factory=dict)


class Sealed(msgspec.Struct, kw_only=True):
    """What a message's ciphertext holds."""

    text: str
    request: ProviderRequest | None = None


def message_context(message_id: UUID, user_id: UUID) -> bytes:
    return b"mentor_message:" + message_id.bytes + b":" + user_id.bytes


def memory_context(user_id: UUID) -> bytes:
    return b"mentor_memory:" + user_id.bytes


def seal_message(cipher: PersonalDataCipher, row: MentorMessage, sealed: Sealed) -> None:
    encrypted = cipher.encrypt(
        msgspec.json.encode(sealed), context=message_context(row.id, row.user_id)
    )
    row.key_id, row.ciphertext = encrypted.key_id, encrypted.blob


def open_message(cipher: PersonalDataCipher, row: MentorMessage) -> Sealed:
    plaintext = cipher.decrypt(
        Encrypted(row.key_id, row.ciphertext), context=message_context(row.id, row.user_id)
    )
    return msgspec.json.decode(plaintext, type=Sealed)


@dataclass(frozen=True)
class Prepared:
    """A question stored and its reply row created. `answer` is set when the reply is already
    known without a model (a crisis answer, today's cached note); `request` otherwise."""

    session_id: UUID
    reply_id: UUID
    mode: str
    language: str
    answer: str | None = None
    request: ProviderRequest | None = None
    provider: str = ""
    model: str = ""


@dataclass(frozen=True)
class Finished:
    """A reply as stored: the text after the safety policy, and what the policy did."""

    message_id: UUID
    text: str
    prompt_tokens: int
    completion_tokens: int
    safety: tuple[str, ...]
    action: str


def first_name(display_name: str) -> str:
    """The first word of a display name: all the model may know of a person's name."""
    words = display_name.split()
    return words[0][:40] if words else ""


def _today_utc() -> dt.date:
    return datetime.now(UTC).date()


def _view(row: MentorMessage, sealed: Sealed) -> MessageView:
    return MessageView(
        id=row.id,
        session_id=row.session_id,
        role=row.role,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        language=row.language,
        text=sealed.text,
        provider=row.provider,
        model=row.model,
        safety=[finding for finding in row.safety.split(",") if finding],
        safety_action=row.safety_action,
        error=row.error,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


class MentorService:
    """Everything a person does with the mentor, and what replies do when they finish."""

    def __init__(
        self,
        session: AsyncSession,
        toolkit: MentorToolkit,
        *,
        jobs: JobQueue | None = None,
        client_ip: str = "",
    ) -> None:
        self.session = session
        self.toolkit = toolkit
        self.cipher = toolkit.cipher
        self.settings = toolkit.settings
        self.jobs = jobs
        self.client_ip = client_ip

    # Asking ------------------------------------------------------------------------------

    async def prepare(self, user_id: UUID, ask: Ask, *, provider: str, model: str) -> Prepared:
        """Check the question, store it and the reply to come; the reply is already written
        when it needs no model (a crisis answer, today's note asked again)."""
        text = self._checked_text(ask)
        user = await self.session.get(User, user_id)
        if user is None:
            raise ProblemError(NOT_FOUND, "Your account is gone.")
        if is_crisis(text):
            return await self._crisis_answer(user, ask, text)
        day = datetime.now(ZoneInfo(user.timezone)).date() if ask.mode == "daily" else None
        if day is not None:
            cached = await self._daily_note(user_id, day)
            if cached is not None:
                return cached
        await self._limit(user_id)
        match, subject_id = await self._match(user_id, ask)
        chat = await self._session_for(user_id, ask.mode, subject_id)
        history, dropped = await self._history(chat.id)
        memory = await self._memory(user_id)
        if dropped:
            memory = fold_topics(memory, dropped)
            await self._save_memory(user_id, memory)
        facts = await self._facts(user_id)
        topic = detect_topic(text)
        request = ProviderRequest(
            messages=[
                ChatTurn(
                    "system",
                    self._system_prompt(ask, first_name(user.display_name), facts, memory, match),
                ),
                *history,
                ChatTurn("user", text or DEFAULT_PROMPTS[ask.mode]),
            ],
            mode=ask.mode,
            language=ask.language,
            first_name=first_name(user.display_name),
            topic=topic,
            seed=f"{day or ''}:{len(history)}",
            facts=facts,
            match=match,
        )
        self._add_message(chat, Role.USER, ask.language, Sealed(text=text), topic=topic)
        reply = self._add_message(
            chat,
            Role.ASSISTANT,
            ask.language,
            Sealed(text="", request=request),
            topic=topic,
            status=Status.PENDING,
            provider=provider,
            model=model,
            daily_on=day,
        )
        await count_usage(self.session, user_id, requests=1)
        await self.session.flush()
        return Prepared(
            chat.id,
            reply.id,
            ask.mode,
            ask.language,
            request=request,
            provider=provider,
            model=model,
        )

    @staticmethod
    def _checked_text(ask: Ask) -> str:
        text = ask.text.strip()
        if ask.mode in {"chat", "match"} and not text:
            raise ProblemError.invalid("text", f"a question is needed in `{ask.mode}` mode")
        problem = text_problem(text, multiline=True)
        if problem:
            raise ProblemError.invalid("text", problem)
        if ask.mode == "match" and not ask.handle:
            raise ProblemError.invalid("handle", "name the person you matched with")
        if ask.mode != "match" and ask.handle:
            raise ProblemError.invalid("handle", "only `match` mode is about another person")
        return text

    async def _crisis_answer(self, user: User, ask: Ask, text: str) -> Prepared:
        """The fixed caring answer with help lines; no model is called and no limit applies,
        so someone in crisis is never told to wait."""
        chat = await self._session_for(user.id, ask.mode, None)
        resources = self.toolkit.resources
        country = (ask.country or "").upper()
        lines = [*resources.get(country, []), *resources.get("*", [])]
        answer = CRISIS_TEXT[ask.language] + "\n" + "\n".join(f"- {line}" for line in lines)
        self._add_message(
            chat, Role.USER, ask.language, Sealed(text=text), topic="general", safety=CRISIS
        )
        reply = self._add_message(
            chat,
            Role.ASSISTANT,
            ask.language,
            Sealed(text=answer),
            provider=SAFETY_PROVIDER,
            safety=CRISIS,
            safety_action="resources",
            completed=True,
        )
        await count_usage(self.session, user.id, crisis=1)
        await self.session.flush()
        return Prepared(
            chat.id, reply.id, ask.mode, ask.language, answer=answer, provider=SAFETY_PROVIDER
        )

    async def _daily_note(self, user_id: UUID, day: dt.date) -> Prepared | None:
        """Today's note if it exists; a failed one is removed so it can be written again."""
        row = await self.session.scalar(
            select(MentorMessage).where(
                MentorMessage.user_id == user_id, MentorMessage.daily_on == day
            )
        )
        if row is None:
            return None
        if row.status == Status.PENDING:
            raise ProblemError(
                CONFLICT,
                "Today's note is being written; fetch it in a moment.",
                message_id=str(row.id),
            )
        if row.status == Status.FAILED:
            await self.session.delete(row)
            await self.session.flush()
            return None
        return Prepared(
            row.session_id,
            row.id,
            "daily",
            row.language,
            answer=open_message(self.cipher, row).text,
            provider=row.provider,
            model=row.model,
        )

    async def _limit(self, user_id: UUID) -> None:
        """The per-person rate limit, then the daily quota (429 with Retry-After)."""
        await self.toolkit.limiter.hit(
            f"mentor:user:{user_id}",
            limit=self.settings.mentor_requests_per_minute,
            window_seconds=RATE_LIMIT_WINDOW_SECONDS,
        )
        used = await self.session.scalar(
            select(MentorUsage.requests).where(
                MentorUsage.user_id == user_id, MentorUsage.day == _today_utc()
            )
        )
        quota = await self.toolkit.quota.daily_quota(self.session, user_id)
        if (used or 0) >= quota:
            now = datetime.now(UTC)
            midnight = datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), UTC)
            raise ProblemError(
                RATE_LIMITED,
                f"You have used today's {quota} mentor requests; the count resets at 00:00 UTC.",
                headers={"Retry-After": str(max(1, int((midnight - now).total_seconds())))},
            )

    async def _match(self, user_id: UUID, ask: Ask) -> tuple[MatchFacts | None, UUID | None]:
        """The match as the mentor may see it, only while matching allows it (else the same
        404 or 409 matching answers)."""
        if ask.mode != "match" or not ask.handle:
            return None, None
        matching = MatchingService(self.session, self.toolkit.matching)
        match = await matching.match_with(user_id, ask.handle)
        other = await self.session.scalar(select(User).where(User.handle == match.handle))
        if other is None:  # deleted between the two reads
            raise ProblemError(NOT_FOUND, f"@{match.handle} is not available for matching.")
        reasons = tuple(reason.text for reason in match.reasons[:3])
        return MatchFacts(first_name(match.display_name), match.total, reasons), other.id

    async def _session_for(
        self, user_id: UUID, mode: str, subject_id: UUID | None
    ) -> MentorSession:
        key = str(subject_id) if subject_id else ""
        chat = await self.session.scalar(
            select(MentorSession).where(
                MentorSession.user_id == user_id,
                MentorSession.mode == mode,
                MentorSession.subject_key == key,
            )
        )
        now = datetime.now(UTC)
        if chat is None:
            chat = MentorSession(
                id=uuid7(),
                user_id=user_id,
                mode=mode,
                subject_key=key,
                subject_id=subject_id,
                last_active_at=now,
            )
            self.session.add(chat)
            await self.session.flush()
        chat.last_active_at = now
        return chat

    async def _history(self, session_id: UUID) -> tuple[list[ChatTurn], list[str]]:
        """The last `MENTOR_HISTORY_MESSAGES` complete messages, oldest first, and the topics
        of the questions that left that window with this question (for the memory)."""
        window = self.settings.mentor_history_messages
        rows = (
            await self.session.scalars(
                select(MentorMessage)
                .where(
                    MentorMessage.session_id == session_id,
                    MentorMessage.status == Status.COMPLETE,
                    MentorMessage.safety != CRISIS,
                )
                .order_by(MentorMessage.id.desc())
                .limit(window + 2)
            )
        ).all()
        kept, left = list(reversed(rows[:window])), rows[window:]
        turns = [ChatTurn(row.role, open_message(self.cipher, row).text) for row in kept]
        dropped = [row.topic for row in left if row.role == Role.USER]
        return [turn for turn in turns if turn.content], dropped

    async def _memory(self, user_id: UUID) -> Memory:
        row = await self.session.scalar(select(MentorMemory).where(MentorMemory.user_id == user_id))
        if row is None:
            return Memory()
        plaintext = self.cipher.decrypt(
            Encrypted(row.key_id, row.ciphertext), context=memory_context(user_id)
        )
        return Memory(msgspec.json.decode(plaintext, type=dict[str, int]))

    async def _save_memory(self, user_id: UUID, memory: Memory) -> None:
        sealed = self.cipher.encrypt(
            msgspec.json.encode(dict(memory.topics)), context=memory_context(user_id)
        )
        row = await self.session.scalar(select(MentorMemory).where(MentorMemory.user_id == user_id))
        if row is None:
            self.session.add(
                MentorMemory(user_id=user_id, key_id=sealed.key_id, ciphertext=sealed.blob)
            )
        else:
            row.key_id, row.ciphertext = sealed.key_id, sealed.blob

    async def _facts(self, user_id: UUID) -> ChartFacts:
        """The chart and numerology facts, or fewer (none) when birth data is missing."""
        if self.jobs is None:
            msg = "preparing a question needs the request's job queue"
            raise RuntimeError(msg)
        astro = AstroService(self.session, self.toolkit.astro, self.jobs, self.client_ip)
        chart: dict[str, Any] | None = None
        numerology: dict[str, Any] | None = None
        try:
            numerology = json.loads(await astro.my_numerology(user_id, None))
            chart = json.loads(await astro.my_chart(user_id, ChartOptionsInput()))
        except ProblemError:
            pass  # no birth data, or no place: the mentor works with what there is
        return chart_facts(chart, numerology)

    def _system_prompt(
        self, ask: Ask, name: str, facts: ChartFacts, memory: Memory, match: MatchFacts | None
    ) -> str:
        lines = [SYSTEM_PROMPT.format(language=LANGUAGE_NAMES[ask.language])]
        lines.append(f"Conversation mode: {ask.mode}.")
        if name:
            lines.append(f"The person's first name: {name}.")
        known = facts_lines(facts)
        lines.append(
            "Their chart: " + "; ".join(known) + "." if known else "Their chart is unknown."
        )
        if memory.line():
            lines.append(memory.line() + ".")
        if match is not None:
            lines.append(
                f"They matched with {match.first_name or 'someone'}: compatibility "
                f"{match.total:.0f}/100"
                + (f"; {'; '.join(match.reasons)}" if match.reasons else "")
                + "."
            )
        return "\n".join(lines)

    def _add_message(
        self,
        chat: MentorSession,
        role: Role,
        language: str,
        sealed: Sealed,
        *,
        topic: str = "general",
        status: Status = Status.COMPLETE,
        provider: str = "",
        model: str = "",
        safety: str = "",
        safety_action: str = "",
        daily_on: dt.date | None = None,
        completed: bool = False,
    ) -> MentorMessage:
        row = MentorMessage(
            id=uuid7(),
            session_id=chat.id,
            user_id=chat.user_id,
            role=role,
            status=status,
            language=language,
            topic=topic,
            provider=provider,
            model=model,
            safety=safety,
            safety_action=safety_action,
            daily_on=daily_on,
            prompt_tokens=0,
            completion_tokens=0,
            error="",
            completed_at=datetime.now(UTC) if completed else None,
        )
        seal_message(self.cipher, row, sealed)
        self.session.add(row)
        return row

    # Reading -----------------------------------------------------------------------------

    async def message(self, user_id: UUID, message_id: UUID) -> MessageView:
        row = await self.session.get(MentorMessage, message_id)
        if row is None or row.user_id != user_id:
            raise ProblemError(NOT_FOUND, "No such mentor message.")
        return _view(row, open_message(self.cipher, row))

    async def sessions(self, user_id: UUID) -> list[SessionView]:
        rows = (
            await self.session.execute(
                select(MentorSession, User.handle)
                .outerjoin(User, User.id == MentorSession.subject_id)
                .where(MentorSession.user_id == user_id)
                .order_by(MentorSession.last_active_at.desc(), MentorSession.id)
            )
        ).all()
        return [
            SessionView(
                id=chat.id,
                mode=chat.mode,  # type: ignore[arg-type]
                subject=handle,
                last_active_at=chat.last_active_at,
            )
            for chat, handle in rows
        ]

    async def history(
        self, user_id: UUID, session_id: UUID, page: PageRequest
    ) -> tuple[list[MessageView], str | None]:
        """A session's messages, newest first."""
        chat = await self.session.get(MentorSession, session_id)
        if chat is None or chat.user_id != user_id:
            raise ProblemError(NOT_FOUND, "No such mentor session.")
        rows: list[MentorMessage]
        rows, cursor = await paginate(
            self.session,
            select(MentorMessage).where(MentorMessage.session_id == session_id),
            scope=f"mentor:{session_id}",
            order_by=[MentorMessage.id],
            page=page,
            descending=True,
        )
        return [_view(row, open_message(self.cipher, row)) for row in rows], cursor

    async def forget_session(self, user_id: UUID, session_id: UUID) -> None:
        chat = await self.session.get(MentorSession, session_id)
        if chat is None or chat.user_id != user_id:
            raise ProblemError(NOT_FOUND, "No such mentor session.")
        await self.session.execute(
            delete(MentorMessage).where(MentorMessage.session_id == session_id)
        )
        await self.session.delete(chat)

    async def usage(self, day: dt.date) -> list[UsageView]:
        """Everyone's use on a UTC day, heaviest first (staff)."""
        rows = (
            await self.session.execute(
                select(MentorUsage, User.handle)
                .join(User, User.id == MentorUsage.user_id)
                .where(MentorUsage.day == day)
                .order_by(
                    (MentorUsage.prompt_tokens + MentorUsage.completion_tokens).desc(),
                    MentorUsage.id,
                )
            )
        ).all()
        return [
            UsageView(
                user_id=usage.user_id,
                handle=handle,
                day=usage.day,
                requests=usage.requests,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_micros=usage.cost_micros,
                crisis=usage.crisis,
                flagged=usage.flagged,
            )
            for usage, handle in rows
        ]


class ReplyStore:
    """What happens to a reply row once it is written or failed: used by the stream task in
    the API process and by the `mentor.reply` job alike."""

    def __init__(
        self, session: AsyncSession, cipher: PersonalDataCipher, settings: Settings
    ) -> None:
        self.session = session
        self.cipher = cipher
        self.settings = settings

    async def pending_request(self, reply_id: UUID) -> ProviderRequest | None:
        """The sealed request of a pending reply (None when it is no longer pending)."""
        row = await self.session.get(MentorMessage, reply_id)
        if row is None or row.status != Status.PENDING:
            return None
        return open_message(self.cipher, row).request

    async def finish(
        self, reply_id: UUID, text: str, usage: Usage, *, provider: str, model: str
    ) -> Finished | None:
        """Store a written reply after the safety policy; None if the reply is gone (purged,
        or the account was deleted meanwhile)."""
        row = await self.session.get(MentorMessage, reply_id)
        if row is None:
            return None
        findings = policy_findings(text)
        action = ""
        if any(rule.action is Action.REPLACE for rule in findings):
            text, action = REPLACED_TEXT[row.language], Action.REPLACE.value
        elif findings:
            text, action = f"{text}\n\n{ANNOTATION_TEXT[row.language]}", Action.ANNOTATE.value
        codes = tuple(rule.code for rule in findings)
        row.status, row.provider, row.model = Status.COMPLETE, provider, model
        row.safety, row.safety_action = ",".join(codes), action
        row.prompt_tokens, row.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        row.completed_at = datetime.now(UTC)
        seal_message(self.cipher, row, Sealed(text=text))
        tokens = usage.prompt_tokens + usage.completion_tokens
        await count_usage(
            self.session,
            row.user_id,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_micros=tokens * self.settings.mentor_cost_micros_per_1k_tokens // 1000,
            flagged=1 if findings else 0,
        )
        return Finished(row.id, text, usage.prompt_tokens, usage.completion_tokens, codes, action)

    async def fail(self, reply_id: UUID, kind: str) -> None:
        """Record that a reply could not be written; its request is dropped."""
        row = await self.session.get(MentorMessage, reply_id)
        if row is None:
            return
        row.status, row.error, row.completed_at = Status.FAILED, kind, datetime.now(UTC)
        seal_message(self.cipher, row, Sealed(text=""))


async def count_usage(session: AsyncSession, user_id: UUID, **increments: int) -> None:
    """Add to today's usage row of the person (created on first use), in one statement."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = datetime.now(UTC)
    counts = dict.fromkeys(USAGE_COUNTS, 0) | increments
    statement = insert(MentorUsage).values(
        id=uuid7(), user_id=user_id, day=_today_utc(), created_at=now, updated_at=now, **counts
    )
    added = {name: getattr(MentorUsage, name) + statement.excluded[name] for name in increments}
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "day"], set_={**added, "updated_at": now}
        )
    )


# The account's lifecycle ------------------------------------------------------------------


async def export_for_user(
    session: AsyncSession, cipher: PersonalDataCipher, user_id: UUID
) -> dict[str, Any]:
    """Every mentor conversation of the person, decrypted, with the memory and the usage."""
    chats = (
        await session.scalars(
            select(MentorSession).where(MentorSession.user_id == user_id).order_by(MentorSession.id)
        )
    ).all()
    messages = (
        await session.scalars(
            select(MentorMessage).where(MentorMessage.user_id == user_id).order_by(MentorMessage.id)
        )
    ).all()
    by_session: dict[UUID, list[dict[str, Any]]] = {}
    for row in messages:
        view = _view(row, open_message(cipher, row))
        by_session.setdefault(row.session_id, []).append(msgspec.to_builtins(view))
    memory_row = await session.scalar(select(MentorMemory).where(MentorMemory.user_id == user_id))
    memory = (
        msgspec.json.decode(
            cipher.decrypt(
                Encrypted(memory_row.key_id, memory_row.ciphertext),
                context=memory_context(user_id),
            )
        )
        if memory_row is not None
        else {}
    )
    usage = (
        await session.scalars(
            select(MentorUsage).where(MentorUsage.user_id == user_id).order_by(MentorUsage.day)
        )
    ).all()
    return {
        "sessions": [
            {
                "id": str(chat.id),
                "mode": chat.mode,
                "last_active_at": chat.last_active_at,
                "messages": by_session.get(chat.id, []),
            }
            for chat in chats
        ],
        "memory": memory,
        "usage": [
            {
                "day": row.day.isoformat(),
                "requests": row.requests,
                "prompt_tokens": row.prompt_tokens,
                "completion_tokens": row.completion_tokens,
            }
            for row in usage
        ],
    }


async def erase_user(session: AsyncSession, user_id: UUID) -> None:
    """Remove every mentor row of a deleted account, inside the deletion's transaction."""
    await session.execute(delete(MentorMessage).where(MentorMessage.user_id == user_id))
    await session.execute(delete(MentorSession).where(MentorSession.user_id == user_id))
    await session.execute(delete(MentorMemory).where(MentorMemory.user_id == user_id))
    await session.execute(delete(MentorUsage).where(MentorUsage.user_id == user_id))


@dataclass(frozen=True)
class Purged:
    messages: int
    sessions: int


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> Purged:
    """Remove messages written before `cutoff`, then sessions and memories idle since, and
    usage days before it (docs/data-retention.md)."""
    messages = await session.execute(delete(MentorMessage).where(MentorMessage.created_at < cutoff))
    emptied = (
        select(MentorSession.id)
        .where(MentorSession.last_active_at < cutoff)
        .where(
            ~select(MentorMessage.id).where(MentorMessage.session_id == MentorSession.id).exists()
        )
    )
    sessions = await session.execute(delete(MentorSession).where(MentorSession.id.in_(emptied)))
    await session.execute(delete(MentorMemory).where(MentorMemory.updated_at < cutoff))
    await session.execute(delete(MentorUsage).where(MentorUsage.day < cutoff.date()))
    return Purged(_rowcount(messages), _rowcount(sessions))


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
