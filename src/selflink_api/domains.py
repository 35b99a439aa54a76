"""Every domain of the API, in order: adding a domain is its folder plus one line here.

Each name is a package of `selflink_api` whose `domain` module declares `DOMAIN` (and whose
`commands` module, if any, declares `COMMANDS`). The order is the order of routes in the
OpenAPI document, of commands in `selflink-api --help` and of the subscribers to one event.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selflink_api.platform.domains import Domain

DOMAIN_PACKAGES = (
    "system",
    "accounts",
    "social",
    "email",
    "audit",
    "payments",
    "rewards",
    "astro",
    "matching",
    "content",
    "feed",
    "search",
    "mentor",
    "messaging",
    "notifications",
    "moderation",
)

DOMAINS: "tuple[Domain, ...]"
"""Every package's `DOMAIN`, imported on first use: `selflink-api` reads `DOMAIN_PACKAGES` to
find commands without loading any domain's models or controllers."""


def _declared(package: str) -> "Domain":
    from selflink_api.platform.domains import Domain

    declared = importlib.import_module(f"selflink_api.{package}.domain").DOMAIN
    if not isinstance(declared, Domain) or declared.name != package:
        msg = f"selflink_api.{package}.domain must declare DOMAIN = Domain(name={package!r}, ...)"
        raise TypeError(msg)
    return declared


def __getattr__(name: str) -> object:
    if name != "DOMAINS":
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    domains = tuple(_declared(package) for package in DOMAIN_PACKAGES)
    globals()["DOMAINS"] = domains
    return domains
