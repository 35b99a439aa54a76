"""The outcome of a verification: what was checked, and the first difference in plain words."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first difference found: which file, where in it, which field, expected vs found."""

    file: str
    reason: str
    where: str | None = None
    field: str | None = None
    expected: str | None = None
    found: str | None = None

    def message(self) -> str:
        place = self.file if self.where is None else f"{self.file} {self.where}"
        if self.field is not None:
            place += f", {self.field}"
        text = f"{place}: {self.reason}"
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text

    def as_json_object(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "where": self.where,
            "field": self.field,
            "expected": self.expected,
            "found": self.found,
            "reason": self.reason,
            "message": self.message(),
        }


@dataclass(slots=True)
class VerificationReport:
    """Checks that passed, in order, and the mismatch that stopped verification, if any."""

    subject: str
    checks: list[str] = field(default_factory=list)
    mismatch: Mismatch | None = None
    root: str | None = None
    period: str | None = None

    @property
    def ok(self) -> bool:
        return self.mismatch is None

    def passed(self, check: str) -> None:
        self.checks.append(check)

    def as_json_object(self) -> dict[str, Any]:
        return {
            "verified": self.ok,
            "subject": self.subject,
            "period": self.period,
            "root": self.root,
            "checks": list(self.checks),
            "mismatch": None if self.mismatch is None else self.mismatch.as_json_object(),
        }


class MismatchError(Exception):
    """Raised inside a verification to stop at the first mismatch; carries it."""

    def __init__(self, mismatch: Mismatch) -> None:
        super().__init__(mismatch.message())
        self.mismatch = mismatch
