"""The rules of moderation: reports, automatic flags, the staff queue, decisions, appeals.

Services work in the caller's transaction and never commit. Every action leaves an audit
record; every decision (and an appeal's outcome) publishes `moderation.decided` once the
transaction commits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from uuid import UUID

import msgspec
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from selflink_api.accounts.models import AccountStatus, User
from selflink_api.accounts.services import Principal, user_by_handle
from selflink_api.audit import services as audit
from selflink_api.content.services import item_for_moderation, set_removed_for
from selflink_api.messaging.services import message_for_moderation, remove_message_for_moderation
from selflink_api.moderation import schemas
from selflink_api.moderation.models import (
    SYSTEM_REPORTER,
    Action,
    Appeal,
    AppealStatus,
    Decision,
    Report,
    ReportNote,
    ReportStatus,
    TargetKind,
)
from selflink_api.platform.crypto import Encrypted, EncryptedStore, PersonalDataCipher
from selflink_api.platform.domains import Shared
from selflink_api.platform.events import MODERATION_DECIDED, EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import PageRequest, paginate
from selflink_api.platform.problems import CONFLICT, FORBIDDEN, NOT_FOUND, ProblemError
from selflink_api.platform.security import ROLE_RANK
from selflink_api.platform.values import normalized_text
from selflink_api.settings import Settings
from selflink_core.moderation import WordList, parse_word_list

REASONS: tuple[str, ...] = get_args(schemas.ReasonName)
FLAGGED_WORDS = "flagged_words"
RATE_ANOMALY = "rate_anomaly"
SYSTEM_REASONS = (FLAGGED_WORDS, RATE_ANOMALY)
ORIGINAL_ACTIONS = (Action.REMOVE_CONTENT, Action.WARN, Action.SUSPEND, Action.BAN)
OPEN_STATES = (ReportStatus.OPEN, ReportStatus.IN_REVIEW)
MODERATOR_RANK = ROLE_RANK["moderator"]


def _now() -> datetime:
    return datetime.now(UTC)


def report_context(report_id: UUID) -> bytes:
    return b"moderation_report:" + report_id.bytes


def note_context(note_id: UUID) -> bytes:
    return b"moderation_note:" + note_id.bytes


def appeal_context(appeal_id: UUID) -> bytes:
    return b"moderation_appeal:" + appeal_id.bytes


REPORT_STORE = EncryptedStore("moderation reports", Report, lambda row: report_context(row.id))
NOTE_STORE = EncryptedStore("moderation notes", ReportNote, lambda row: note_context(row.id))
APPEAL_STORE = EncryptedStore("moderation appeals", Appeal, lambda row: appeal_context(row.id))


@dataclass(frozen=True)
class ModerationToolkit:
    settings: Settings
    cipher: PersonalDataCipher
    events: EventBus
    words: WordList

    @classmethod
    def build(cls, shared: Shared) -> "ModerationToolkit":
        settings = shared.settings
        return cls(settings, shared.cipher, shared.events, words_of(settings))


def words_of(settings: Settings) -> WordList:
    return parse_word_list(settings.moderation_word_list)


class SealedReport(msgspec.Struct, kw_only=True):
    note: str | None
    snapshot: dict[str, str]


@dataclass(frozen=True)
class Target:
    """A reportable thing that exists (and, for a person's report, that they can see)."""

    kind: str
    id: UUID
    subject_id: UUID
    snapshot: dict[str, str]


def _no_target() -> ProblemError:
    return ProblemError(NOT_FOUND, "Nothing to report there.")


async def find_target(
    session: AsyncSession,
    cipher: PersonalDataCipher,
    kind: str,
    raw: str,
    viewer_id: UUID | None,
) -> Target:
    """The target with its snapshot, if it exists and `viewer_id` (None: the system) may see
    it; one 404 for every other case, so a report tells nothing about what is hidden."""
    if kind == TargetKind.USER:
        try:
            person = (
                await session.get(User, UUID(raw))
                if viewer_id is None
                else await user_by_handle(session, raw)
            )
        except (ValueError, ProblemError):
            raise _no_target() from None
        if person is None or person.status != AccountStatus.ACTIVE:
            raise _no_target()
        snapshot = {"handle": person.handle, "display_name": person.display_name}
        snapshot["bio"] = person.bio
        return Target(kind, person.id, person.id, snapshot)
    try:
        item_id = UUID(raw)
    except ValueError:
        raise _no_target() from None
    if kind == TargetKind.MESSAGE:
        message = await message_for_moderation(session, cipher, item_id, viewer_id)
        if message is None:
            raise _no_target()
        snapshot = {"text": message.text, "thread_id": str(message.thread_id)}
        return Target(kind, message.id, message.sender_id, snapshot)
    item = await item_for_moderation(session, kind, item_id, viewer_id)
    if item is None:
        raise _no_target()
    snapshot = {"text": item.text, "post_id": str(item.post_id)}
    return Target(kind, item.id, item.author_id, snapshot)


class Reports:
    """Filing reports: by people, and by the system for automatic flags."""

    def __init__(self, session: AsyncSession, cipher: PersonalDataCipher) -> None:
        self.session = session
        self.cipher = cipher

    def _seal(self, report_id: UUID, sealed: SealedReport) -> Encrypted:
        return self.cipher.encrypt(msgspec.json.encode(sealed), context=report_context(report_id))

    def open_sealed(self, report: Report) -> SealedReport:
        plaintext = self.cipher.decrypt(
            Encrypted(report.key_id, report.ciphertext), context=report_context(report.id)
        )
        return msgspec.json.decode(plaintext, type=SealedReport)

    async def _open_report(self, reporter: str, target: Target) -> Report | None:
        return await self.session.scalar(
            select(Report).where(
                Report.reporter == reporter,
                Report.target_kind == target.kind,
                Report.target_id == target.id,
                Report.open_slot.is_(True),
            )
        )

    async def file(
        self, reporter_id: UUID | None, target: Target, reason: str, note: str | None
    ) -> tuple[Report, bool]:
        """One open report per reporter and target: a second one updates the first (reason
        and note; the snapshot stays the first one). True when the report is new. Safe under
        concurrency: the unique key decides, and the loser updates the winner's row."""
        reporter = SYSTEM_REPORTER if reporter_id is None else f"user:{reporter_id}"
        report = await self._open_report(reporter, target)
        created = False
        if report is None:
            report_id = uuid7()
            sealed = self._seal(report_id, SealedReport(note=note, snapshot=target.snapshot))
            fresh = Report(
                id=report_id,
                reporter_id=reporter_id,
                reporter=reporter,
                target_kind=target.kind,
                target_id=target.id,
                subject_id=target.subject_id,
                reason=reason,
                status=ReportStatus.OPEN,
                open_slot=True,
                key_id=sealed.key_id,
                ciphertext=sealed.blob,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(fresh)
                    await self.session.flush()
                report, created = fresh, True
            except IntegrityError:  # a concurrent report by the same reporter won the race
                report = await self._open_report(reporter, target)
                if report is None:
                    raise
        if not created:
            kept = self.open_sealed(report)
            sealed = self._seal(report.id, SealedReport(note=note, snapshot=kept.snapshot))
            report.key_id, report.ciphertext = sealed.key_id, sealed.blob
            report.reason = reason
            report.updated_at = _now()
        await audit.record(
            self.session,
            actor_id=reporter_id,
            action="moderation.report.file" if created else "moderation.report.update",
            subject=f"report:{report.id}",
            details={"target": f"{target.kind}:{target.id}", "reason": reason},
        )
        await self.session.flush()
        return report, created


def _receipt(report: Report) -> schemas.ReportReceipt:
    return schemas.ReportReceipt(
        id=report.id,
        target_kind=report.target_kind,
        reason=report.reason,
        status=report.status,
        created_at=report.created_at,
        updated_at=report.updated_at,
    )


async def _handles(session: AsyncSession, ids: Sequence[UUID | None]) -> dict[UUID, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        user.id: user for user in await session.scalars(select(User).where(User.id.in_(wanted)))
    }


def _decision_view(
    decision: Decision, people: dict[UUID, User], appeal: str | None = None
) -> schemas.DecisionView:
    subject = people.get(decision.subject_id)
    return schemas.DecisionView(
        id=decision.id,
        subject=subject.handle if subject else None,
        action=decision.action,
        reason=decision.reason,
        target_kind=decision.target_kind,
        target_id=decision.target_id,
        suspended_until=decision.suspended_until,
        corrects=decision.corrects_id,
        report_id=decision.report_id,
        created_at=decision.created_at,
        appeal=appeal,
    )


class ModerationService:
    """What people and staff do with reports, decisions and appeals. Never commits."""

    def __init__(self, session: AsyncSession, toolkit: ModerationToolkit, jobs: JobQueue) -> None:
        self.session = session
        self.toolkit = toolkit
        self.jobs = jobs
        self.reports = Reports(session, toolkit.cipher)

    # A person's side -------------------------------------------------------------------------

    async def report(
        self, reporter_id: UUID, draft: schemas.ReportDraft
    ) -> tuple[schemas.ReportReceipt, bool]:
        note = None
        if draft.note is not None:
            note = normalized_text("note", draft.note, schemas.MAX_NOTE_CHARACTERS)
        target = await find_target(
            self.session, self.toolkit.cipher, draft.target_kind, draft.target, reporter_id
        )
        if target.subject_id == reporter_id:
            raise ProblemError.invalid("target", "is yours; delete it instead of reporting it")
        report, created = await self.reports.file(reporter_id, target, draft.reason, note)
        return _receipt(report), created

    async def my_decisions(self, user_id: UUID) -> list[schemas.DecisionView]:
        """Every decision about me, newest first, with the state of my appeals."""
        decisions = (
            await self.session.scalars(
                select(Decision)
                .where(Decision.subject_id == user_id)
                .order_by(Decision.id.desc())
                .limit(200)
            )
        ).all()
        rows = await self.session.execute(
            select(Appeal.decision_id, Appeal.status).where(
                Appeal.decision_id.in_([d.id for d in decisions])
            )
        )
        appeals: dict[UUID, str] = dict(rows.all())
        people = await _handles(self.session, [user_id])
        return [_decision_view(d, people, appeals.get(d.id)) for d in decisions]

    async def appeal(
        self, user_id: UUID, decision_id: UUID, draft: schemas.AppealDraft
    ) -> schemas.AppealView:
        """The affected person appeals a decision, once."""
        text = normalized_text("text", draft.text, schemas.MAX_NOTE_CHARACTERS)
        decision = await self.session.get(Decision, decision_id)
        if (
            decision is None
            or decision.subject_id != user_id
            or decision.action not in ORIGINAL_ACTIONS
        ):
            raise ProblemError(NOT_FOUND, "No such decision about you.")
        appeal_id = uuid7()
        sealed = self.toolkit.cipher.encrypt(text.encode(), context=appeal_context(appeal_id))
        appeal = Appeal(
            id=appeal_id,
            decision_id=decision.id,
            appellant_id=user_id,
            status=AppealStatus.OPEN,
            key_id=sealed.key_id,
            ciphertext=sealed.blob,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(appeal)
                await self.session.flush()
        except IntegrityError:
            raise ProblemError(CONFLICT, "This decision was already appealed.") from None
        await audit.record(
            self.session,
            actor_id=user_id,
            action="moderation.appeal.file",
            subject=f"appeal:{appeal.id}",
            details={"decision": str(decision.id)},
        )
        return (await self._appeal_views([appeal]))[0]

    # The staff queue -------------------------------------------------------------------------

    async def queue(
        self, status: str, page: PageRequest
    ) -> tuple[list[schemas.ReportSummary], str | None]:
        """Reports in one state, oldest first: the order they should be handled in."""
        rows: list[Report]
        rows, cursor = await paginate(
            self.session,
            select(Report).where(Report.status == status),
            scope=f"moderation-reports:{status}",
            order_by=[Report.id],
            page=page,
        )
        return await self._summaries(rows), cursor

    async def _summaries(self, reports: Sequence[Report]) -> list[schemas.ReportSummary]:
        people = await _handles(
            self.session, [r.subject_id for r in reports] + [r.assignee_id for r in reports]
        )
        summaries = []
        for report in reports:
            subject = people.get(report.subject_id)
            assignee = people.get(report.assignee_id) if report.assignee_id else None
            summaries.append(
                schemas.ReportSummary(
                    id=report.id,
                    target_kind=report.target_kind,
                    target_id=report.target_id,
                    subject=schemas.Person(handle=subject.handle, display_name=subject.display_name)
                    if subject
                    else None,
                    reason=report.reason,
                    reported_by="system" if report.reporter == SYSTEM_REPORTER else "person",
                    status=report.status,
                    assignee=assignee.handle if assignee else None,
                    created_at=report.created_at,
                    updated_at=report.updated_at,
                )
            )
        return summaries

    async def _report(self, report_id: UUID, *, lock: bool = False) -> Report:
        statement = select(Report).where(Report.id == report_id)
        if lock:
            statement = statement.with_for_update()
        report = await self.session.scalar(statement)
        if report is None:
            raise ProblemError(NOT_FOUND, "No such report.")
        return report

    async def _open(self, report_id: UUID) -> Report:
        report = await self._report(report_id, lock=True)
        if report.status not in OPEN_STATES:
            raise ProblemError(CONFLICT, f"This report is already {report.status}.")
        return report

    async def detail(self, report_id: UUID) -> schemas.ReportDetail:
        """Not audited: a GET never writes (on PostgreSQL it reads in autocommit, where the
        audit chain's lock would not hold); every change to a report is audited."""
        report = await self._report(report_id)
        sealed = self.reports.open_sealed(report)
        notes = (
            await self.session.scalars(
                select(ReportNote).where(ReportNote.report_id == report.id).order_by(ReportNote.id)
            )
        ).all()
        decisions = (
            await self.session.scalars(
                select(Decision).where(Decision.report_id == report.id).order_by(Decision.id)
            )
        ).all()
        people = await _handles(
            self.session,
            [report.reporter_id, report.subject_id] + [n.author_id for n in notes],
        )
        reporter = people.get(report.reporter_id) if report.reporter_id else None
        return schemas.ReportDetail(
            report=(await self._summaries([report]))[0],
            reporter=reporter.handle if reporter else None,
            reporter_note=sealed.note,
            snapshot=sealed.snapshot,
            notes=[
                schemas.NoteView(
                    id=note.id,
                    author=people[note.author_id].handle if note.author_id in people else None,
                    text=self.toolkit.cipher.decrypt(
                        Encrypted(note.key_id, note.ciphertext), context=note_context(note.id)
                    ).decode(),
                    created_at=note.created_at,
                )
                for note in notes
            ],
            decisions=[_decision_view(d, people) for d in decisions],
        )

    async def assign(
        self, staff: Principal, report_id: UUID, draft: schemas.Assignment
    ) -> schemas.ReportSummary:
        """Give the report to a moderator (the caller by default): it is in review."""
        report = await self._open(report_id)
        assignee_id = staff.id
        if draft.assignee is not None:
            try:
                person = await user_by_handle(self.session, draft.assignee)
            except ProblemError:
                raise ProblemError.invalid("assignee", "is not a moderator") from None
            if ROLE_RANK.get(person.role, -1) < MODERATOR_RANK or not person.is_active:
                raise ProblemError.invalid("assignee", "is not a moderator")
            assignee_id = person.id
        report.assignee_id = assignee_id
        report.status = ReportStatus.IN_REVIEW
        report.updated_at = _now()
        await audit.record(
            self.session,
            actor_id=staff.id,
            action="moderation.report.assign",
            subject=f"report:{report.id}",
            details={"assignee": str(assignee_id)},
        )
        return (await self._summaries([report]))[0]

    async def add_note(
        self, staff: Principal, report_id: UUID, draft: schemas.NoteDraft
    ) -> schemas.NoteView:
        report = await self._report(report_id)
        text = normalized_text("text", draft.text, schemas.MAX_NOTE_CHARACTERS)
        note_id = uuid7()
        sealed = self.toolkit.cipher.encrypt(text.encode(), context=note_context(note_id))
        note = ReportNote(
            id=note_id,
            report_id=report.id,
            author_id=staff.id,
            key_id=sealed.key_id,
            ciphertext=sealed.blob,
        )
        self.session.add(note)
        await self.session.flush()
        await audit.record(
            self.session,
            actor_id=staff.id,
            action="moderation.report.note",
            subject=f"report:{report.id}",
            details={"note": str(note.id)},
        )
        await self.session.refresh(note)
        return schemas.NoteView(
            id=note.id, author=staff.handle, text=text, created_at=note.created_at
        )

    def _close(self, report: Report, status: ReportStatus) -> None:
        report.status, report.open_slot = status, None
        report.closed_at = report.updated_at = _now()

    async def dismiss(self, staff: Principal, report_id: UUID) -> schemas.ReportSummary:
        report = await self._open(report_id)
        self._close(report, ReportStatus.DISMISSED)
        await audit.record(
            self.session,
            actor_id=staff.id,
            action="moderation.report.dismiss",
            subject=f"report:{report.id}",
        )
        await self.session.flush()
        return (await self._summaries([report]))[0]

    # Decisions -------------------------------------------------------------------------------

    async def decide(
        self, staff: Principal, report_id: UUID, draft: schemas.DecisionDraft
    ) -> schemas.DecisionView:
        """Act on a report: remove the content, warn, suspend for `hours`, or ban. The report
        is resolved; the decision is recorded for good."""
        if draft.reason not in REASONS + SYSTEM_REASONS:
            raise ProblemError.invalid("reason", "is not one of the documented reasons")
        action = Action(draft.action)
        if (action == Action.SUSPEND) != (draft.hours is not None):
            raise ProblemError.invalid("hours", "is required for a suspension and only for one")
        report = await self._open(report_id)
        subject = await self.session.get(User, report.subject_id)
        if subject is None or subject.status == AccountStatus.DELETED:
            raise ProblemError(CONFLICT, "This account no longer exists.")
        if subject.id == staff.id or ROLE_RANK.get(subject.role, 0) >= ROLE_RANK[staff.role]:
            raise ProblemError(FORBIDDEN, "Decisions about yourself or your peers go higher.")
        now = _now()
        until: datetime | None = None
        if action == Action.REMOVE_CONTENT:
            await self._remove(report.target_kind, report.target_id, draft.reason)
        elif action in (Action.SUSPEND, Action.BAN):
            until = await self._suspend(subject, action, draft.hours, now)
        decision = Decision(
            subject_id=subject.id,
            decided_by=staff.id,
            action=action,
            reason=draft.reason,
            report_id=report.id,
            target_kind=report.target_kind,
            target_id=report.target_id,
            suspended_until=until,
        )
        self.session.add(decision)
        self._close(report, ReportStatus.RESOLVED)
        await self.session.flush()
        await self._record_decision(staff, decision)
        return _decision_view(decision, {subject.id: subject})

    async def _remove(self, kind: str, target_id: UUID, reason: str) -> None:
        if kind in (TargetKind.POST, TargetKind.COMMENT):
            await set_removed_for(self.session, kind, target_id, reason)
        elif kind == TargetKind.MESSAGE:
            await remove_message_for_moderation(self.session, target_id)
        else:
            raise ProblemError.invalid("action", "removes posts, comments and messages, not people")

    async def _suspend(
        self, subject: User, action: Action, hours: int | None, now: datetime
    ) -> datetime | None:
        """Suspend until `hours` from now, or for good (a ban); a longer suspension or a ban
        already running is kept. Sessions stay, so the person can read why and appeal."""
        until = None if action == Action.BAN else now + timedelta(hours=hours or 0)
        if until is not None and subject.is_suspended(now):
            current = subject.suspended_until
            until = None if current is None else max(current, until)
        subject.status, subject.suspended_until = AccountStatus.SUSPENDED, until
        return until

    async def _record_decision(self, staff: Principal, decision: Decision) -> None:
        details = {"decision": str(decision.id), "reason": decision.reason}
        if decision.target_kind is not None:
            details["target"] = f"{decision.target_kind}:{decision.target_id}"
        if decision.suspended_until is not None:
            details["until"] = decision.suspended_until.isoformat()
        if decision.corrects_id is not None:
            details["corrects"] = str(decision.corrects_id)
        await audit.record(
            self.session,
            actor_id=staff.id,
            action=f"moderation.decision.{decision.action}",
            subject=f"user:{decision.subject_id}",
            details=dict(details),
        )
        await self.toolkit.events.publish(
            self.jobs,
            MODERATION_DECIDED,
            decision_id=str(decision.id),
            user_id=str(decision.subject_id),
            action=decision.action,
            reason=decision.reason,
        )

    # Appeals ---------------------------------------------------------------------------------

    async def _appeal_views(self, appeals: Sequence[Appeal]) -> list[schemas.AppealView]:
        decisions = {
            d.id: d
            for d in await self.session.scalars(
                select(Decision).where(Decision.id.in_([a.decision_id for a in appeals]))
            )
        }
        people = await _handles(
            self.session,
            [a.appellant_id for a in appeals] + [d.subject_id for d in decisions.values()],
        )
        return [
            schemas.AppealView(
                id=appeal.id,
                decision=_decision_view(decisions[appeal.decision_id], people),
                appellant=people[appeal.appellant_id].handle
                if appeal.appellant_id in people
                else None,
                text=self.toolkit.cipher.decrypt(
                    Encrypted(appeal.key_id, appeal.ciphertext), context=appeal_context(appeal.id)
                ).decode(),
                status=appeal.status,
                created_at=appeal.created_at,
            )
            for appeal in appeals
        ]

    async def appeals(
        self, status: str, page: PageRequest
    ) -> tuple[list[schemas.AppealView], str | None]:
        rows: list[Appeal]
        rows, cursor = await paginate(
            self.session,
            select(Appeal).where(Appeal.status == status),
            scope=f"moderation-appeals:{status}",
            order_by=[Appeal.id],
            page=page,
        )
        return (await self._appeal_views(rows) if rows else []), cursor

    async def decide_appeal(
        self, staff: Principal, appeal_id: UUID, draft: schemas.AppealOutcome
    ) -> schemas.DecisionView:
        """A staff member other than the one who decided upholds or overturns; overturning
        undoes what can be undone (a removed post or comment returns, a suspension or ban that
        is still the latest one is lifted; a removed message's text is gone for good)."""
        appeal = await self.session.scalar(
            select(Appeal).where(Appeal.id == appeal_id).with_for_update()
        )
        if appeal is None:
            raise ProblemError(NOT_FOUND, "No such appeal.")
        if appeal.status != AppealStatus.OPEN:
            raise ProblemError(CONFLICT, f"This appeal was already {appeal.status}.")
        original = await self.session.get_one(Decision, appeal.decision_id)
        if staff.id in (original.decided_by, appeal.appellant_id):
            raise ProblemError(FORBIDDEN, "A different staff member must decide this appeal.")
        overturned = draft.outcome == "overturned"
        subject = await self.session.get(User, original.subject_id)
        if overturned:
            await self._undo(original, subject)
        decision = Decision(
            subject_id=original.subject_id,
            decided_by=staff.id,
            action=Action.APPEAL_OVERTURNED if overturned else Action.APPEAL_UPHELD,
            reason=original.reason,
            report_id=original.report_id,
            target_kind=original.target_kind,
            target_id=original.target_id,
            corrects_id=original.id,
        )
        self.session.add(decision)
        appeal.status = AppealStatus.OVERTURNED if overturned else AppealStatus.UPHELD
        appeal.decided_by, appeal.decided_at = staff.id, _now()
        await self.session.flush()
        await self._record_decision(staff, decision)
        return _decision_view(decision, {subject.id: subject} if subject else {})

    async def _undo(self, original: Decision, subject: User | None) -> None:
        if original.action == Action.REMOVE_CONTENT and original.target_kind in (
            TargetKind.POST,
            TargetKind.COMMENT,
        ):
            assert original.target_id is not None
            await set_removed_for(self.session, original.target_kind, original.target_id, None)
        if original.action in (Action.SUSPEND, Action.BAN) and subject is not None:
            latest = await self.session.scalar(
                select(Decision.id)
                .where(
                    Decision.subject_id == subject.id,
                    Decision.action.in_((Action.SUSPEND, Action.BAN)),
                )
                .order_by(Decision.id.desc())
                .limit(1)
            )
            if latest == original.id and subject.status == AccountStatus.SUSPENDED:
                subject.status, subject.suspended_until = AccountStatus.ACTIVE, None


# Automatic flags and upkeep (jobs) --------------------------------------------------------------


async def flag_item(
    session: AsyncSession,
    cipher: PersonalDataCipher,
    words: WordList,
    kind: str,
    item_id: UUID,
) -> bool:
    """File a system report when a new post, comment or message has a listed word."""
    target = await _with_listed_words(session, cipher, words, kind, item_id)
    if target is None:
        return False
    await Reports(session, cipher).file(None, target, FLAGGED_WORDS, None)
    return True


async def has_listed_words(
    session: AsyncSession, cipher: PersonalDataCipher, words: WordList, kind: str, item_id: UUID
) -> bool:
    """Whether `flag_item` would file a report: a read, for a reading session."""
    return await _with_listed_words(session, cipher, words, kind, item_id) is not None


async def _with_listed_words(
    session: AsyncSession, cipher: PersonalDataCipher, words: WordList, kind: str, item_id: UUID
) -> Target | None:
    if words.pattern is None:
        return None
    try:
        target = await find_target(session, cipher, kind, str(item_id), None)
    except ProblemError:
        return None  # deleted before the job ran
    return target if words.matches(target.snapshot.get("text", "")) else None


async def flag_rate(
    session: AsyncSession, cipher: PersonalDataCipher, person_id: UUID, count: int, limit: int
) -> bool:
    """File (or refresh) a system report on the person when they wrote `limit` or more
    items in the window."""
    if count < limit:
        return False
    try:
        target = await find_target(session, cipher, TargetKind.USER, str(person_id), None)
    except ProblemError:
        return False
    await Reports(session, cipher).file(None, target, RATE_ANOMALY, None)
    return True


async def lift_ended_suspensions(session: AsyncSession, now: datetime) -> int:
    """Set the status of people whose suspension ended back to active (the sign-in and request
    checks already compare with the clock; this tidies the column other queries read)."""
    ended = (
        await session.scalars(
            select(User.id).where(
                User.status == AccountStatus.SUSPENDED,
                User.suspended_until.is_not(None),
                User.suspended_until <= now,
            )
        )
    ).all()
    if not ended:
        return 0
    await audit.record_many(
        session,
        actor_id=None,
        action="moderation.suspension.lift",
        entries=[(f"user:{user_id}", {}) for user_id in ended],
    )
    await session.execute(
        update(User)
        .where(User.id.in_(ended), User.status == AccountStatus.SUSPENDED)
        .values(status=AccountStatus.ACTIVE, suspended_until=None)
    )
    return len(ended)


# The account's export and deletion ----------------------------------------------------------------


async def export_for_user(
    session: AsyncSession, cipher: PersonalDataCipher, user_id: UUID
) -> dict[str, Any]:
    """The reports I filed (with my notes), decisions about me and my appeals."""
    reports = (
        await session.scalars(
            select(Report).where(Report.reporter_id == user_id).order_by(Report.id)
        )
    ).all()
    opener = Reports(session, cipher)
    decisions = (
        await session.scalars(
            select(Decision).where(Decision.subject_id == user_id).order_by(Decision.id)
        )
    ).all()
    appeals = (
        await session.scalars(
            select(Appeal).where(Appeal.appellant_id == user_id).order_by(Appeal.id)
        )
    ).all()
    return {
        "reports_filed": [
            {
                "id": str(report.id),
                "target_kind": report.target_kind,
                "target_id": str(report.target_id),
                "reason": report.reason,
                "status": report.status,
                "note": opener.open_sealed(report).note,
                "created_at": report.created_at.isoformat(),
            }
            for report in reports
        ],
        "decisions_about_me": [msgspec.to_builtins(_decision_view(d, {})) for d in decisions],
        "appeals": [
            {
                "id": str(appeal.id),
                "decision_id": str(appeal.decision_id),
                "status": appeal.status,
                "text": cipher.decrypt(
                    Encrypted(appeal.key_id, appeal.ciphertext), context=appeal_context(appeal.id)
                ).decode(),
                "created_at": appeal.created_at.isoformat(),
            }
            for appeal in appeals
        ],
    }


async def erase_user(session: AsyncSession, user_id: UUID) -> None:
    """At account deletion: the reports I filed and those about me (their snapshots hold my
    words), with their notes, and my appeals go. Decisions about me hold ids and codes only and
    stay, as the record."""
    await session.execute(delete(Appeal).where(Appeal.appellant_id == user_id))
    await session.execute(
        delete(Report).where(or_(Report.reporter_id == user_id, Report.subject_id == user_id))
    )
