"""Verifying a bundle: recompute everything the format defines and report the first difference."""

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Final

from selflink_core.rewards.bundle import (
    BUNDLE_FILES,
    EVENTS_FILE,
    MANIFEST_FILE,
    PAYOUTS_FILE,
    SUMS_FILE,
    Bundle,
    BundleError,
    Manifest,
    build_bundle,
    period_events_from_lines,
    read_bundle,
    sha256_hex,
    sums_file,
)
from selflink_core.rewards.calculation import PAYOUT_COLUMNS, PayoutRow
from selflink_core.rewards.chain import LedgerScan, PeriodEvent
from selflink_core.rewards.events import ZERO_HASH, previous_period
from selflink_core.rewards.merkle import merkle_root
from selflink_core.rewards.report import Mismatch, MismatchError, VerificationReport

PREVIOUS_BUNDLE_PREFIX: Final = "previous bundle: "
"""Starts the file name of a mismatch in the previous bundle, for callers to name it."""


class PreviousBundleError(ValueError):
    """Verification needs the previous month's bundle, or was given the wrong month's."""


class InconsistentBundleError(BundleError):
    """The files match SHA256SUMS, but the manifest's payouts hash or Merkle root does not."""


def _fail(
    file: str,
    reason: str,
    *,
    where: str | None = None,
    field: str | None = None,
    expected: object = None,
    found: object = None,
) -> MismatchError:
    return MismatchError(
        Mismatch(
            file=file,
            reason=reason,
            where=where,
            field=field,
            expected=None if expected is None else str(expected),
            found=None if found is None else str(found),
        )
    )


def _from_bundle_error(error: BundleError, prefix: str = "") -> MismatchError:
    return MismatchError(
        Mismatch(
            file=prefix + error.file,
            reason=error.reason,
            where=None if error.line is None else f"line {error.line}",
            field=error.field,
        )
    )


def check_file_hashes(files: Mapping[str, bytes], prefix: str = "") -> None:
    """The four files are there and SHA256SUMS lists the other three's hashes exactly."""
    for name in BUNDLE_FILES:
        if name not in files:
            raise _fail(prefix + name, "is missing from the bundle folder")
    extra = sorted(set(files) - set(BUNDLE_FILES))
    if extra:
        raise _fail(prefix + extra[0], "is not one of the four bundle files; remove it")
    listed = files[SUMS_FILE]
    lines = listed.split(b"\n")
    names = (EVENTS_FILE, MANIFEST_FILE, PAYOUTS_FILE)
    for line_number, name in enumerate(names, start=1):
        actual = sha256_hex(files[name])
        line = lines[line_number - 1] if line_number <= len(lines) else b""
        expected_line = f"{actual}  {name}".encode()
        if line != expected_line:
            hex_part, _, listed_name = line.decode(errors="replace").partition("  ")
            if listed_name != name:
                raise _fail(
                    prefix + SUMS_FILE,
                    f"must list {name} here as '<sha256>  {name}'",
                    where=f"line {line_number}",
                    expected=expected_line.decode(),
                    found=line.decode(errors="replace") or "nothing",
                )
            raise _fail(
                prefix + name,
                f"does not match its hash in {SUMS_FILE} (changed after it was listed)",
                field="sha256",
                expected=hex_part,
                found=actual,
            )
    if listed != sums_file(files[EVENTS_FILE], files[MANIFEST_FILE], files[PAYOUTS_FILE]):
        raise _fail(
            prefix + SUMS_FILE,
            "must be exactly three lines '<sha256>  <name>' ending in a newline",
        )


def read_consistent_bundle(files: Mapping[str, bytes]) -> Bundle:
    """A bundle fit to prove or explain a row without recomputing the month (`verify_bundle`):
    its files match SHA256SUMS (else `MismatchError`), are well formed (else `BundleError`) and
    its manifest holds the hash and Merkle root of its payouts (else `InconsistentBundleError`).
    """
    check_file_hashes(files)
    bundle = read_bundle(files)
    manifest = bundle.manifest
    if manifest.payouts_sha256 != sha256_hex(files[PAYOUTS_FILE]) or manifest.merkle_root != (
        merkle_root([row.csv_line() for row in bundle.rows]).hex()
    ):
        raise InconsistentBundleError(
            MANIFEST_FILE, f"payouts_sha256 or merkle_root does not match {PAYOUTS_FILE}"
        )
    return bundle


def _compare_rows(found: Sequence[PayoutRow], expected: Sequence[PayoutRow]) -> None:
    for index, (want, have) in enumerate(zip(expected, found, strict=False)):
        line = f"line {index + 2}"
        if want.contributor != have.contributor:
            raise _fail(
                PAYOUTS_FILE,
                "the rows do not list the contributors the events and carries call for",
                where=line,
                field="contributor",
                expected=want.contributor,
                found=have.contributor,
            )
        for column in PAYOUT_COLUMNS[1:]:
            if getattr(want, column) != getattr(have, column):
                raise _fail(
                    PAYOUTS_FILE,
                    "recomputing the month gives a different value",
                    where=f"{line} ({want.contributor})",
                    field=column,
                    expected=getattr(want, column),
                    found=getattr(have, column),
                )
    if len(found) != len(expected):
        index = min(len(found), len(expected))
        raise _fail(
            PAYOUTS_FILE,
            "has a missing row" if len(found) < len(expected) else "has a row too many",
            where=f"line {index + 2}",
            field="contributor",
            expected=expected[index].contributor if index < len(expected) else "end of file",
            found=found[index].contributor if index < len(found) else "end of file",
        )


def _compare_manifests(found: Manifest, expected: Manifest) -> None:
    for f in fields(Manifest):
        want, have = getattr(expected, f.name), getattr(found, f.name)
        if want != have:
            raise _fail(
                MANIFEST_FILE,
                "recomputing the month gives a different value",
                field=f.name,
                expected=_show(want),
                found=_show(have),
            )


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _check_previous(
    manifest: Manifest, previous_files: Mapping[str, bytes] | None
) -> Bundle | None:
    if previous_files is None:
        if manifest.previous_root:
            raise PreviousBundleError(
                f"{MANIFEST_FILE} names a previous bundle (root {manifest.previous_root}); "
                f"pass the {previous_period(manifest.period)} bundle with --previous"
            )
        return None
    prefix = PREVIOUS_BUNDLE_PREFIX
    check_file_hashes(previous_files, prefix)
    try:
        previous = read_bundle(previous_files)
    except BundleError as exc:
        raise _from_bundle_error(exc, prefix) from None
    expected_period = previous_period(manifest.period)
    if previous.period != expected_period:
        raise PreviousBundleError(
            f"the previous bundle is for {previous.period}, but {manifest.period} follows "
            f"{expected_period}"
        )
    if not manifest.previous_root:
        raise _fail(
            MANIFEST_FILE,
            "the bundle was calculated without a previous month, but one was given",
            field="previous_root",
            expected=previous.root,
            found='""',
        )
    if previous.root != manifest.previous_root:
        raise _fail(
            MANIFEST_FILE,
            "the previous bundle given is not the one this bundle follows",
            field="previous_root",
            expected=previous.root,
            found=manifest.previous_root,
        )
    return previous


def _check_ledger(bundle: Bundle, ledger: LedgerScan, ledger_name: str) -> str:
    if ledger.problem is not None:
        raise _fail(
            ledger_name,
            ledger.problem.reason,
            where=f"line {ledger.problem.line_number}",
        )
    head = bundle.manifest.ledger_head
    if head.seq > ledger.head.seq:
        raise _fail(
            MANIFEST_FILE,
            f"the ledger ends before the bundle's ledger head (it has {ledger.head.seq} events)",
            field="ledger_head.seq",
            expected=f"at most {ledger.head.seq}",
            found=head.seq,
        )
    ledger_head_hash = ledger.marked_hash or ZERO_HASH
    if head.seq and ledger_head_hash != head.hash:
        raise _fail(
            MANIFEST_FILE,
            f"the ledger's event at seq {head.seq} has a different hash",
            field="ledger_head.hash",
            expected=ledger_head_hash,
            found=head.hash,
        )
    expected_lines = [event.line for event in ledger.period_events if event.seq <= head.seq]
    for index, (want, have) in enumerate(zip(expected_lines, bundle.event_lines, strict=False)):
        if want != have:
            raise _fail(
                EVENTS_FILE,
                f"differs from the ledger's {bundle.period} events",
                where=f"line {index + 1}",
                expected=_seq_of(ledger.period_events, want),
                found="a different line",
            )
    if len(expected_lines) != len(bundle.event_lines):
        raise _fail(
            EVENTS_FILE,
            f"must hold exactly the ledger's {bundle.period} events up to seq {head.seq}",
            field="line count",
            expected=len(expected_lines),
            found=len(bundle.event_lines),
        )
    return (
        f"{ledger_name}: {ledger.head.seq:,} events, chain and rules valid; events.jsonl is "
        f"exactly its {len(expected_lines):,} {bundle.period} lines up to seq {head.seq} "
        "and the ledger head matches"
    )


def _seq_of(events: Sequence[PeriodEvent], line: bytes) -> str:
    return next((f"the line of seq {event.seq}" for event in events if event.line is line), "")


def _events_known_from_ledger(
    bundle: Bundle, ledger: LedgerScan | None
) -> list[PeriodEvent] | None:
    """The ledger's already-checked events, when events.jsonl is exactly those lines."""
    if ledger is None or ledger.problem is not None:
        return None
    head_seq = bundle.manifest.ledger_head.seq
    events = [event for event in ledger.period_events if event.seq <= head_seq]
    if len(events) != len(bundle.event_lines) or any(
        event.line != line for event, line in zip(events, bundle.event_lines, strict=True)
    ):
        return None
    return events


def verify_bundle(
    files: Mapping[str, bytes],
    *,
    previous: Mapping[str, bytes] | None = None,
    ledger: LedgerScan | None = None,
    ledger_name: str = "ledger",
    expected_root: str | None = None,
    subject: str = "bundle",
) -> VerificationReport:
    """Recompute a bundle from its own events and figures (and the previous bundle, the ledger).

    Raises `PreviousBundleError` when the manifest names a previous bundle that was not given,
    or the one given is for the wrong month; every other problem is the report's mismatch.
    """
    report = VerificationReport(subject=subject)
    try:
        _verify(
            report,
            files,
            previous_files=previous,
            ledger=ledger,
            ledger_name=ledger_name,
            expected_root=expected_root,
        )
    except MismatchError as failure:
        report.mismatch = failure.mismatch
    return report


def _verify(
    report: VerificationReport,
    files: Mapping[str, bytes],
    *,
    previous_files: Mapping[str, bytes] | None,
    ledger: LedgerScan | None,
    ledger_name: str,
    expected_root: str | None,
) -> None:
    check_file_hashes(files)
    report.root = sha256_hex(files[SUMS_FILE])
    report.passed("SHA256SUMS matches events.jsonl, manifest.json and payouts.csv")
    try:
        bundle = read_bundle(files)
    except BundleError as exc:
        raise _from_bundle_error(exc) from None
    manifest = bundle.manifest
    report.period = manifest.period
    report.passed("manifest.json is canonical JSON with exactly the format-1 keys")
    for name, key in ((EVENTS_FILE, "events_sha256"), (PAYOUTS_FILE, "payouts_sha256")):
        if getattr(manifest, key) != sha256_hex(files[name]):
            raise _fail(
                MANIFEST_FILE,
                f"does not hold the hash of {name}",
                field=key,
                expected=sha256_hex(files[name]),
                found=getattr(manifest, key),
            )
    events = _events_known_from_ledger(bundle, ledger)
    if events is None:
        try:
            events = period_events_from_lines(bundle.event_lines, manifest.period)
        except BundleError as exc:
            raise _from_bundle_error(exc) from None
    report.passed(f"events.jsonl: {len(events):,} valid {manifest.period} events in seq order")
    previous = _check_previous(manifest, previous_files)
    if previous is not None:
        report.passed(f"previous bundle {previous.period}: files and root match previous_root")
    try:
        expected = build_bundle(
            manifest.period,
            events,
            manifest.figures,
            previous=previous,
            ledger_head=manifest.ledger_head,
        )
    except BundleError as exc:
        raise _from_bundle_error(exc) from None
    _compare_rows(bundle.rows, expected.rows)
    _compare_manifests(manifest, expected.manifest)
    report.passed(
        f"payouts.csv and manifest.json recomputed from the events and figures: "
        f"{len(bundle.rows):,} rows, totals and Merkle root identical"
    )
    if ledger is not None:
        report.passed(_check_ledger(bundle, ledger, ledger_name))
    if expected_root is not None:
        if report.root != expected_root:
            raise _fail(
                SUMS_FILE,
                "the bundle is consistent but its root is not the published one",
                field="root",
                expected=expected_root,
                found=report.root,
            )
        report.passed("root matches the published root")
