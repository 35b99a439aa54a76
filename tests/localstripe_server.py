"""localstripe (a stateful fake Stripe server from PyPI) as the tests run it:
`python -m tests.localstripe_server --port N`.

Three small additions bring it closer to the Stripe API the payments domain calls, and are
the only differences from the package as published:

- nothing is written to `/tmp/localstripe.pickle` (the package saves every change there, a
  path shared by every process of the machine), so each server starts and stays private;
- a card charge's balance transaction carries Stripe's standard card fee (2.9% + 30 cents):
  localstripe books every fee as 0, and the revenue ledger is about fees too;
- `GET /v1/balance_transactions` honours `created[gte]` / `created[lt]`, as the daily
  reconciliation filters by month; checkout and customer-portal sessions, which localstripe
  lacks, are answered with an id and a URL (what SelfLink reads from them), and `/health`
  says the server is up.
"""

import argparse
import itertools
from typing import Any

from aiohttp import web
from localstripe import resources, server

FEE_BPS = 290
FEE_FIXED_CENTS = 30
_sessions = itertools.count(1)


def _no_disk(self: resources.Store) -> None:
    """Keep the store in memory only."""


resources.Store.dump_to_disk = _no_disk  # type: ignore[method-assign]
_original_init = resources.BalanceTransaction.__init__
_original_list = resources.BalanceTransaction._api_list_all.__func__  # type: ignore[attr-defined]


def _with_fee(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    if self.type == "charge" and self.amount > 0:
        self.fee = (self.amount * FEE_BPS + 5000) // 10000 + FEE_FIXED_CENTS
        self.fee_details = [{"amount": self.fee, "currency": self.currency, "type": "stripe_fee"}]


def _list_created(
    cls: Any, url: str, limit: Any = None, starting_after: Any = None, **kwargs: Any
) -> Any:
    created = kwargs.pop("created", None) or {}
    listed = _original_list(cls, url, limit, starting_after, **kwargs)
    low, high = int(created.get("gte", 0)), int(created.get("lt", 2**62))
    listed._list = [t for t in listed._list if low <= t.created < high]
    listed._list.sort(key=lambda t: (t.created, t.id), reverse=True)
    return listed


resources.BalanceTransaction.__init__ = _with_fee  # type: ignore[method-assign]
resources.BalanceTransaction._api_list_all = classmethod(_list_created)  # type: ignore[assignment]


async def _session(request: web.Request) -> web.Response:
    kind = "bps" if "billing_portal" in request.path else "cs"
    number = next(_sessions)
    body = {
        "id": f"{kind}_test_{number}",
        "object": "billing_portal.session" if kind == "bps" else "checkout.session",
        "url": f"https://stripe.test/{kind}/{number}",
    }
    return web.json_response(body)


async def _health(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = server.app
    app.router.add_get("/health", _health)
    app.router.add_post("/v1/checkout/sessions", _session)
    app.router.add_post("/v1/billing_portal/sessions", _session)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
