"""Emails and handles: how people are named and found."""

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from selflink_api.platform.values import is_mixed_script

HANDLE_PATTERN = re.compile(r"^[a-z0-9_]{3,30}$")
LOCAL_PART_SEPARATORS = re.compile(r"[.+_-]")
RESERVED_HANDLES = frozenset(
    {
        "about", "abuse", "account", "accounts", "admin", "administrator", "api", "app", "auth",
        "billing", "blog", "contact", "dev", "docs", "explore", "feed", "help", "home", "info",
        "legal", "login", "logout", "me", "mentor", "messages", "moderator", "new", "null",
        "official", "payments", "privacy", "register", "rewards", "root", "security", "selflink",
        "settings", "signin", "signup", "staff", "static", "status", "support", "system",
        "team", "terms", "undefined", "user", "users", "www",
    }
)  # fmt: skip


class InvalidIdentifierError(ValueError):
    """An email or handle that cannot be accepted; the message says why."""


def normalize_email(raw: str) -> str:
    """The syntactically valid, normalized, lower-cased form used for uniqueness and sign-in.

    The domain is IDNA-normalized (UTS #46: `xn--` and full-width spellings become the one
    Unicode form), so one address has one key. A domain label or a word of the local part that
    mixes scripts, as look-alike addresses do (a Cyrillic `a` in a Latin name), is refused.
    """
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentifierError(str(exc)) from exc
    if any(is_mixed_script(label) for label in checked.domain.split(".")):
        msg = "a label of the domain mixes letters of different scripts, such as Latin and Cyrillic"
        raise InvalidIdentifierError(msg)
    if any(is_mixed_script(word) for word in LOCAL_PART_SEPARATORS.split(checked.local_part)):
        msg = "a word before the @ mixes letters of different scripts, such as Latin and Cyrillic"
        raise InvalidIdentifierError(msg)
    return checked.normalized.lower()


def normalize_handle(raw: str) -> str:
    handle = raw.strip().removeprefix("@").lower()
    if not HANDLE_PATTERN.fullmatch(handle):
        msg = "must be 3 to 30 characters of a-z, 0-9 and _"
        raise InvalidIdentifierError(msg)
    if handle in RESERVED_HANDLES:
        msg = "is reserved"
        raise InvalidIdentifierError(msg)
    return handle


def handle_base_from(display_name: str) -> str:
    """A handle-shaped stem from a display name: `Zoë O'Neil` → `zoe_oneil`."""
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.lower().replace("'", ""))
    stem = "_".join(words)[:24].strip("_")
    if len(stem) < 3 or stem in RESERVED_HANDLES:
        stem = f"{stem}_user" if stem else "user"
    return stem


def handle_candidates(display_name: str, attempts: int = 20) -> list[str]:
    """Handles to try in order when none was chosen: the stem, then with numeric suffixes."""
    stem = handle_base_from(display_name)
    candidates = [stem] if len(stem) >= 3 and stem not in RESERVED_HANDLES else []
    candidates += [f"{stem}_{n}" for n in range(2, attempts + 2)]
    return [c for c in candidates if HANDLE_PATTERN.fullmatch(c)]
