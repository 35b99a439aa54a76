"""Password hashing (Argon2id) and the password policy."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from selflink_api.settings import Settings

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_STRENGTH = 2  # zxcvbn score 0-4: 2 means "somewhat guessable" at worst


def build_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


class PasswordVault:
    """Hashes and checks passwords; a constant-cost dummy check hides unknown accounts."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        self._dummy_hash = hasher.hash("selflink-timing-equalizer")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; costs the same when there is no account at all."""
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common leaked passwords, as bundled with zxcvbn."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(
    password: str, *, handle: str, email: str, display_name: str = ""
) -> list[str]:
    """Why `password` is not acceptable for this account; empty when it is."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return [f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long"]
    lowered = password.lower()
    local_part = email.split("@", 1)[0].lower()
    problems = []
    if lowered in _common_passwords():
        problems.append("is one of the most common passwords")
    if len(handle) >= 3 and handle.lower() in lowered:
        problems.append("must not contain your handle")
    if len(local_part) >= 3 and local_part in lowered:
        problems.append("must not contain your email address")
    if not problems:
        inputs = [part for part in (handle, email, local_part, display_name) if part]
        if zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_STRENGTH:
            problems.append("is too easy to guess")
    return problems
