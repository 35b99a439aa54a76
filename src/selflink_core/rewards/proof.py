"""Inclusion proofs (spec §5): one contributor's row checked against a published root alone."""

from dataclasses import dataclass
from typing import Any, Final

from selflink_core.rewards.bundle import (
    PAYOUTS_HEADER,
    Bundle,
    BundleError,
    Manifest,
    manifest_from_json_object,
    manifest_root,
    parse_payouts,
)
from selflink_core.rewards.calculation import PayoutRow
from selflink_core.rewards.canonical import CanonicalJsonError, canonical_json, parse_strict_json
from selflink_core.rewards.events import is_hex_sha256
from selflink_core.rewards.merkle import inclusion_path, root_from_inclusion_path
from selflink_core.rewards.report import Mismatch, VerificationReport

PROOF_FORMAT: Final = "selflink-rewards-proof/1"
PROOF_KEYS: Final = ("format", "index", "leaf", "manifest", "path", "period", "root", "tree_size")
PROOF_FILE: Final = "proof"


class ProofError(ValueError):
    """A proof cannot be made, or a file is not a well-formed format-1 proof."""


@dataclass(frozen=True, slots=True)
class InclusionProof:
    period: str
    root: str
    manifest: Manifest
    leaf: str
    index: int
    tree_size: int
    path: tuple[str, ...]

    def as_json_object(self) -> dict[str, Any]:
        return {
            "format": PROOF_FORMAT,
            "index": self.index,
            "leaf": self.leaf,
            "manifest": self.manifest.as_json_object(),
            "path": list(self.path),
            "period": self.period,
            "root": self.root,
            "tree_size": self.tree_size,
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.as_json_object()) + b"\n"

    @property
    def row(self) -> PayoutRow | None:
        """The leaf read as a payouts row, or None if it is not one."""
        try:
            rows = parse_payouts(PAYOUTS_HEADER + self.leaf.encode() + b"\n")
        except BundleError:
            return None
        return rows[0] if len(rows) == 1 else None


def make_proof(bundle: Bundle, contributor: str) -> InclusionProof:
    """The inclusion proof of `contributor`'s row; `ProofError` if the bundle has no such row."""
    found = bundle.row(contributor)
    if found is None:
        raise ProofError(f"payouts.csv of {bundle.period} has no row for {contributor!r}")
    index, row = found
    leaves = [r.csv_line() for r in bundle.rows]
    return InclusionProof(
        period=bundle.period,
        root=bundle.root,
        manifest=bundle.manifest,
        leaf=row.csv_line().decode(),
        index=index,
        tree_size=len(leaves),
        path=tuple(node.hex() for node in inclusion_path(leaves, index)),
    )


def parse_proof(data: bytes) -> InclusionProof:
    """A proof file's bytes, which must be exactly JCS(proof) + LF with the format-1 keys."""
    if not data.endswith(b"\n") or data.count(b"\n") != 1:
        raise ProofError("a proof must be one line of JSON ending with a newline")
    try:
        obj = parse_strict_json(data[:-1])
    except CanonicalJsonError as exc:
        raise ProofError(str(exc)) from None
    if not isinstance(obj, dict):
        raise ProofError("a proof must be a JSON object")
    unknown = sorted(set(obj) - set(PROOF_KEYS))
    missing = [key for key in PROOF_KEYS if key not in obj]
    if unknown or missing:
        raise ProofError(
            f"unknown key {unknown[0]!r}" if unknown else f"missing key {missing[0]!r}"
        )
    if obj["format"] != PROOF_FORMAT:
        raise ProofError(f"format: must be {PROOF_FORMAT!r}, found {obj['format']!r}")
    for key in ("index", "tree_size"):
        if not isinstance(obj[key], int) or obj[key] < 0:
            raise ProofError(f"{key}: must be a non-negative integer")
    for key in ("leaf", "period", "root"):
        if not isinstance(obj[key], str):
            raise ProofError(f"{key}: must be a string")
    path = obj["path"]
    if not isinstance(path, list) or not all(
        isinstance(node, str) and is_hex_sha256(node) for node in path
    ):
        raise ProofError("path: must be an array of 64-hex-digit hashes")
    try:
        manifest = manifest_from_json_object(obj["manifest"], "manifest")
    except BundleError as exc:
        raise ProofError(f"manifest: {exc.reason}") from None
    proof = InclusionProof(
        period=obj["period"],
        root=obj["root"],
        manifest=manifest,
        leaf=obj["leaf"],
        index=obj["index"],
        tree_size=obj["tree_size"],
        path=tuple(path),
    )
    if proof.to_bytes() != data:
        raise ProofError("the proof is not in canonical form (RFC 8785)")
    return proof


def check_proof(  # noqa: PLR0911 - stops at the first failed check
    proof: InclusionProof, expected_root: str | None = None
) -> VerificationReport:
    """Check that the leaf is row `index` of the bundle whose root is `proof.root` (and ours)."""
    report = VerificationReport(subject="proof", period=proof.period)
    manifest = proof.manifest

    def fail(reason: str, field: str, expected: object, found: object) -> VerificationReport:
        report.mismatch = Mismatch(
            file=PROOF_FILE, reason=reason, field=field, expected=str(expected), found=str(found)
        )
        return report

    if proof.period != manifest.period:
        return fail("must be the manifest's period", "period", manifest.period, proof.period)
    if proof.tree_size != manifest.contributors:
        return fail(
            "must equal the manifest's row count",
            "tree_size",
            manifest.contributors,
            proof.tree_size,
        )
    if proof.row is None:
        return fail("must be a payouts.csv row", "leaf", "9 comma-separated values", proof.leaf)
    computed = root_from_inclusion_path(
        proof.leaf.encode(), proof.index, proof.tree_size, [bytes.fromhex(n) for n in proof.path]
    )
    if computed is None:
        return fail(
            f"has the wrong length for row {proof.index} of {proof.tree_size}",
            "path",
            "a valid RFC 9162 path",
            f"{len(proof.path)} hashes",
        )
    if computed.hex() != manifest.merkle_root:
        return fail(
            "the leaf and path do not lead to the manifest's Merkle root",
            "manifest.merkle_root",
            computed.hex(),
            manifest.merkle_root,
        )
    report.passed(f"row {proof.index + 1} of {proof.tree_size} leads to the manifest's merkle_root")
    root = manifest_root(manifest)
    report.root = root
    if root != proof.root:
        return fail(
            "SHA256SUMS rebuilt from the manifest gives another root", "root", root, proof.root
        )
    report.passed("SHA256SUMS rebuilt from the manifest gives the proof's root")
    if expected_root is not None:
        if root != expected_root:
            return fail("is not the published root", "root", expected_root, root)
        report.passed("root matches the published root")
    return report
