"""``stockd labels locations|products|commands``: printable labels (SPEC, Commands).

Checks the request first (one line and exit 1 for anything to change), reads the
locations or products it selects (the command sheet needs no database), renders PDF
or ZPL and writes it to ``--output`` or standard output; a PDF is not written to a
terminal. What each label holds is :mod:`stock_core.domain.labels`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Coroutine
from collections.abc import Sequence
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeAlias

from stock_core.domain.labels import DPIS
from stock_core.domain.labels import SIZES
from stock_core.domain.labels import SYMBOLS
from stock_core.domain.labels import Label
from stock_core.domain.labels import LabelError
from stock_core.domain.labels import LabelFormat
from stock_core.domain.labels import LabelKind
from stock_core.domain.labels import LabelRequest
from stock_core.domain.labels import command_labels
from stock_core.domain.labels import parse_request
from stock_core.domain.labels import zpl
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import StockRejection
from stock_core.service import StockService
from stockd.settings import Settings

if TYPE_CHECKING:  # a type only: stockd.cli opens the database
    from stock_core.store.database import Database

__all__ = ["add_labels_parser", "run_labels"]

EXIT_OK = 0
EXIT_FAILED = 1

Work: TypeAlias = "Callable[[Database], Awaitable[int]]"
WithDatabase = Callable[[Settings, Work], Coroutine[Any, Any, int]]


def add_labels_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    symbols = ", ".join(f"{kind.value}: {'|'.join(names)}" for kind, names in SYMBOLS.items())
    parser = sub.add_parser(
        "labels",
        help="printable labels: LOC: bins, product GTINs, the CMD:/QTY: sheet",
        description="Print labels that scan back as the codes the gateway reads.",
    )
    parser.add_argument("kind", choices=[k.value for k in LabelKind])
    parser.add_argument("--format", help="pdf (default) or zpl (Zebra label printers)")
    parser.add_argument("--size", help=f"{', '.join(SIZES)} (default: a4 for PDF, 100x50 for ZPL)")
    parser.add_argument("--symbol", help=f"default first; {symbols}")
    parser.add_argument("--zone", help="only the locations of this zone (products: stocked there)")
    parser.add_argument(
        "--codes", metavar="A,B", help="only these location codes, SKUs or commands (QTY:n too)"
    )
    parser.add_argument("--lot", help="products: GS1 lot (AI 10)")
    parser.add_argument("--expiry", metavar="YYYY-MM-DD", help="products: GS1 expiry (AI 17)")
    parser.add_argument("--dpi", help=f"ZPL printer resolution: {', '.join(map(str, DPIS))}")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")


def _fail(message: str) -> int:
    print(f"stockd labels: {message}", file=sys.stderr)
    return EXIT_FAILED


def _request(args: argparse.Namespace) -> LabelRequest:
    expiry = None
    if args.expiry is not None:
        try:
            expiry = date.fromisoformat(args.expiry)
        except ValueError:
            raise LabelError(f"--expiry {args.expiry!r}: give a date like 2027-03-31") from None
    dpi = None
    if args.dpi is not None:
        if not args.dpi.isdigit():
            raise LabelError(f"--dpi {args.dpi!r}: use {', '.join(map(str, DPIS))}")
        dpi = int(args.dpi)
    return parse_request(
        args.kind,
        format=args.format,
        size=args.size,
        symbol=args.symbol,
        zone=args.zone,
        codes=() if args.codes is None else args.codes.split(","),
        lot=args.lot,
        expiry=expiry,
        dpi=dpi,
        reference_year=datetime.now(UTC).year,
    )


def _render(labels: Sequence[Label], request: LabelRequest) -> bytes:
    """The labels as the request's format asks: PDF bytes or ZPL text (UTF-8)."""
    if request.format is LabelFormat.ZPL:
        return zpl(labels, request.size, request.dpi).encode()
    from stock_core.label_pdf import render_pdf

    return render_pdf(labels, request.size, title=f"stockd labels: {request.kind.value}")


def run_labels(args: argparse.Namespace, settings: Settings, with_database: WithDatabase) -> int:
    try:
        request = _request(args)
    except LabelError as exc:
        return _fail(exc.reason)
    to_stdout = args.output is None or str(args.output) == "-"
    if request.format is LabelFormat.PDF and to_stdout and sys.stdout.isatty():
        return _fail(
            "a PDF is not for the terminal: give --output FILE, or redirect (> labels.pdf)"
        )
    labels: list[Label] = []

    async def read(db: Database) -> int:
        labels.extend(await StockService(db.pool).labels(request))
        return EXIT_OK

    try:
        if request.kind is LabelKind.COMMANDS:
            labels = command_labels(request)
        else:
            asyncio.run(with_database(settings, read))
        output = _render(labels, request)
    except StockRejection as exc:
        return _fail(exc.reason)
    except DatabaseUnavailableError as exc:
        print(f"stockd: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if to_stdout:
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
        where = "standard output"
    else:
        try:
            args.output.write_bytes(output)
        except OSError as exc:
            return _fail(f"cannot write {args.output}: {exc.strerror}")
        where = str(args.output)
    pages = -(-len(labels) // request.size.per_page)
    sheets = f"{pages} {request.size.name} page{'s' if pages != 1 else ''}"
    if request.format is LabelFormat.ZPL:
        sheets = f"ZPL, {request.size.name} mm at {request.dpi} dpi"
    count = f"{len(labels)} {request.kind.value.rstrip('s')} label{'s' if len(labels) != 1 else ''}"
    print(f"stockd labels: {count} ({sheets}) to {where}", file=sys.stderr)
    return EXIT_OK
