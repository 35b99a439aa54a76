"""Why matching refused an input: a small hierarchy the CLI and the API map to exit codes and
HTTP 422 / 400 without inspecting messages (the same shape as the astro errors)."""

from __future__ import annotations

from typing import Any


class MatchingError(Exception):
    """Base of every expected matching failure."""

    code = "matching_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = f"{field}: {message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description for API error bodies."""
        return {"code": self.code, "message": self.message, "field": self.field}


class InvalidProfile(MatchingError):  # noqa: N818 - domain names read better
    """Profile answers use a word outside the vocabulary, repeat one, or exceed a limit."""

    code = "invalid_profile"


class InvalidPerson(MatchingError):  # noqa: N818 - domain names read better
    """Features that cannot describe a person (bad life path, counts, longitudes, row)."""

    code = "invalid_person"


class InvalidPreferences(MatchingError):  # noqa: N818 - domain names read better
    """Dating preferences outside the vocabulary or the age limits."""

    code = "invalid_preferences"


class InvalidCursor(MatchingError):  # noqa: N818 - domain names read better
    """A recommendations cursor that this version did not issue (or that was altered)."""

    code = "invalid_cursor"
