"""Contributor rewards, format 1: the ledger, scoring, the monthly bundle and its proofs.

Every function takes and returns values in memory (bytes, events, figures); nothing here reads
files, the clock or randomness, so a service and the CLI get the same bytes from the same input.

- Events: `EventDraft` → `seal(draft, head)` → `Event`; `Event.line()`; `parse_event_line`.
- Ledger: `scan_ledger(lines)` (or `scan_chunk` per chunk + `merge_chunks`) → `LedgerScan` with
  the head, the first problem and `check_new_event`; `reversal_problem` for a service's own
  lookups.
- Scoring: `score_pull_request(payload_bytes, "v1")` → `Scored` (a draft and its explanation) or
  `NotScored` (the reason).
- Month: `build_bundle(period, events, figures, previous=..., ledger_head=...)` → `Bundle`;
  `Bundle.files()` → the four files' bytes; `read_bundle(files)`; `Bundle.root`.
- Checking: `verify_bundle(files, previous=..., ledger=..., expected_root=...)` → report;
  `read_consistent_bundle(files)` → a `Bundle` fit to prove or explain a row;
  `make_proof`, `parse_proof`, `check_proof`; `explain_row`.
"""

from selflink_core.rewards.bundle import (
    BUNDLE_FILES,
    BUNDLE_FORMAT,
    EVENTS_FILE,
    MANIFEST_FILE,
    PAYOUTS_FILE,
    SUMS_FILE,
    Bundle,
    BundleError,
    Manifest,
    build_bundle,
    check_previous,
    manifest_root,
    parse_manifest,
    parse_payouts,
    period_event,
    period_events_from_lines,
    read_bundle,
    root_of_files,
)
from selflink_core.rewards.calculation import (
    Carried,
    Figures,
    FiguresError,
    MonthResult,
    PayoutRow,
    calculate_month,
)
from selflink_core.rewards.canonical import (
    CanonicalJsonError,
    canonical_json,
    format1_object_bytes,
    parse_strict_json,
)
from selflink_core.rewards.chain import (
    ChunkScan,
    LedgerMerger,
    LedgerProblem,
    LedgerScan,
    PeriodEvent,
    ReversalTarget,
    merge_chunks,
    reversal_problem,
    scan_chunk,
    scan_ledger,
)
from selflink_core.rewards.events import (
    EMPTY_LEDGER_HEAD,
    EVENT_KINDS,
    PERIOD_PATTERN,
    ZERO_HASH,
    Event,
    EventDraft,
    EventError,
    LedgerHead,
    draft_from_json_object,
    is_period,
    next_period,
    parse_event_line,
    period_of,
    previous_period,
    seal,
)
from selflink_core.rewards.explain import NoSuchRowError, RowExplanation, explain_row
from selflink_core.rewards.merkle import inclusion_path, merkle_root, root_from_inclusion_path
from selflink_core.rewards.proof import (
    InclusionProof,
    ProofError,
    check_proof,
    make_proof,
    parse_proof,
)
from selflink_core.rewards.report import Mismatch, VerificationReport
from selflink_core.rewards.scoring import (
    DEFAULT_RULES,
    NotScored,
    PayloadError,
    Scored,
    UnknownRulesError,
    available_rules,
    load_rules,
    score_pull_request,
)
from selflink_core.rewards.verification import (
    PREVIOUS_BUNDLE_PREFIX,
    InconsistentBundleError,
    PreviousBundleError,
    read_consistent_bundle,
    verify_bundle,
)

__all__ = [
    "BUNDLE_FILES",
    "BUNDLE_FORMAT",
    "DEFAULT_RULES",
    "EMPTY_LEDGER_HEAD",
    "EVENTS_FILE",
    "EVENT_KINDS",
    "MANIFEST_FILE",
    "PAYOUTS_FILE",
    "PERIOD_PATTERN",
    "PREVIOUS_BUNDLE_PREFIX",
    "SUMS_FILE",
    "ZERO_HASH",
    "Bundle",
    "BundleError",
    "CanonicalJsonError",
    "Carried",
    "ChunkScan",
    "Event",
    "EventDraft",
    "EventError",
    "Figures",
    "FiguresError",
    "InclusionProof",
    "InconsistentBundleError",
    "LedgerHead",
    "LedgerMerger",
    "LedgerProblem",
    "LedgerScan",
    "Manifest",
    "Mismatch",
    "MonthResult",
    "NoSuchRowError",
    "NotScored",
    "PayloadError",
    "PayoutRow",
    "PeriodEvent",
    "PreviousBundleError",
    "ProofError",
    "ReversalTarget",
    "RowExplanation",
    "Scored",
    "UnknownRulesError",
    "VerificationReport",
    "available_rules",
    "build_bundle",
    "calculate_month",
    "canonical_json",
    "check_previous",
    "check_proof",
    "draft_from_json_object",
    "explain_row",
    "format1_object_bytes",
    "inclusion_path",
    "is_period",
    "load_rules",
    "make_proof",
    "manifest_root",
    "merge_chunks",
    "merkle_root",
    "next_period",
    "parse_event_line",
    "parse_manifest",
    "parse_payouts",
    "parse_proof",
    "parse_strict_json",
    "period_event",
    "period_events_from_lines",
    "period_of",
    "previous_period",
    "read_bundle",
    "read_consistent_bundle",
    "reversal_problem",
    "root_from_inclusion_path",
    "root_of_files",
    "scan_chunk",
    "scan_ledger",
    "score_pull_request",
    "seal",
    "verify_bundle",
]
