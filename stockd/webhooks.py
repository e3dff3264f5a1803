"""``stockd webhooks add|list|remove|deliveries``: webhook subscriptions from the shell.

The same subscriptions as ``/api/v1/webhooks`` (see ``docs/how-to/webhooks.md``):
``add`` prints the signing secret alone on the last line, as ``token create`` prints
its token.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Awaitable
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import TypeAlias

from stock_core.domain.webhook import parse_patterns
from stock_core.domain.webhook import secret_key
from stock_core.errors import NotFoundError
from stock_core.service import StockService

if TYPE_CHECKING:  # a type only: stockd.cli opens the database
    from stock_core.store.database import Database

__all__ = ["add_webhooks_parser", "webhooks_work"]

_URL = re.compile(r"^https?://[^\s/?#@]+(/\S*)?$")
Work: TypeAlias = "Callable[[Database], Awaitable[int]]"


def add_webhooks_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hooks = sub.add_parser("webhooks", help="webhook subscriptions: add, list, remove, deliveries")
    actions = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="subscribe a URL to events; prints the secret once")
    add.add_argument("url", help="http(s) URL deliveries are POSTed to")
    add.add_argument(
        "--events",
        required=True,
        help="comma-separated event types, families (alert.*) or * (stock.changed opt-in)",
    )
    add.add_argument("--secret", help="whsec_… signing secret (default: a new one)")
    add.add_argument("--description", default="", help="a note for people")
    actions.add_parser("list", help="every subscription: id, URL, events, pending, failed")
    remove = actions.add_parser("remove", help="remove a subscription and its delivery log")
    remove.add_argument("id", type=int)
    log = actions.add_parser("deliveries", help="a subscription's delivery log, newest last")
    log.add_argument("id", type=int)
    log.add_argument("--status", choices=("pending", "delivered", "failed"))
    log.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")


def _usage(message: str) -> int:
    print(f"stockd webhooks: {message}", file=sys.stderr)
    return 2


def webhooks_work(args: argparse.Namespace) -> Work | int:
    """The database work for ``args``, or an exit status for bad arguments."""
    if args.action == "add":
        if not _URL.match(args.url) or len(args.url) > 2000:
            return _usage(f"not an http(s) URL: {args.url!r}")
        try:
            events = parse_patterns(e.strip() for e in args.events.split(",") if e.strip())
            if args.secret is not None:
                secret_key(args.secret)
        except ValueError as exc:
            return _usage(str(exc))
        if len(args.description) > 200 or not args.description.isprintable():
            return _usage("--description must be at most 200 printable characters")
        return _add(args.url, events, args.secret, args.description)
    if args.action == "list":
        return _list
    if args.action == "remove":
        return _remove(args.id)
    if not 1 <= args.limit <= 1000:
        return _usage("--limit must be 1 to 1000")
    return _deliveries(args.id, args.status, args.limit)


def _add(url: str, events: tuple[str, ...], secret: str | None, description: str) -> Work:
    async def run(db: Database) -> int:
        view = await StockService(db.pool).create_webhook(
            url, events, secret, description=description, by="cli"
        )
        print(f"webhook {view.id}: {view.url} for {','.join(view.events)}; signing secret:")
        print(view.secret)
        return 0

    return run


async def _list(db: Database) -> int:
    service = StockService(db.pool)
    print(f"{'id':>5}  {'pending':>7}  {'failed':>6}  url  events")
    after = 0
    while page := await service.list_webhooks(after=after, limit=500):
        for hook in page:
            print(
                f"{hook.id:>5}  {hook.pending:>7}  {hook.failed:>6}  {hook.url}  "
                f"{','.join(hook.events)}"
            )
        after = page[-1].id
    return 0


def _remove(webhook_id: int) -> Work:
    async def run(db: Database) -> int:
        try:
            view = await StockService(db.pool).delete_webhook(webhook_id)
        except NotFoundError as exc:
            print(f"stockd: {exc.reason} (stockd webhooks list shows them)", file=sys.stderr)
            return 1
        print(f"removed webhook {view.id} ({view.url})")
        return 0

    return run


def _deliveries(webhook_id: int, status: str | None, limit: int) -> Work:
    async def run(db: Database) -> int:
        try:
            rows = await StockService(db.pool).list_deliveries(
                webhook_id, status=status, limit=limit
            )
        except NotFoundError as exc:
            print(f"stockd: {exc.reason} (stockd webhooks list shows them)", file=sys.stderr)
            return 1
        print(f"{'id':>7}  {'seq':>8}  {'status':9}  {'tries':>5}  {'http':>4}  type  error")
        for d in rows:
            http = "" if d.last_status is None else str(d.last_status)
            print(
                f"{d.id:>7}  {d.seq:>8}  {d.status:9}  {d.attempts:>5}  {http:>4}  {d.type}  "
                f"{d.last_error or ''}"
            )
        return 0

    return run
