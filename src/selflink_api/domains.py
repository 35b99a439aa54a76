"""Every domain of the API, in order: adding a domain is its folder plus one line here.

Each name is a package of `selflink_api` whose `domain` module declares `DOMAIN`. The order
is the order of routes in the OpenAPI document, of commands in `selflink-api --help` and of
the subscribers to one event.
"""

import importlib

from selflink_api.platform.domains import Domain

DOMAIN_PACKAGES = (
    "system",
    "accounts",
    "social",
    "notifications",
    "audit",
    "rewards",
    "astro",
    "matching",
    "content",
    "feed",
    "search",
    "messaging",
)


def _declared(package: str) -> Domain:
    declared = importlib.import_module(f"selflink_api.{package}.domain").DOMAIN
    if not isinstance(declared, Domain) or declared.name != package:
        msg = f"selflink_api.{package}.domain must declare DOMAIN = Domain(name={package!r}, ...)"
        raise TypeError(msg)
    return declared


DOMAINS: tuple[Domain, ...] = tuple(_declared(package) for package in DOMAIN_PACKAGES)
