"""Command line of the seed data: ``load`` into a database, or write it as ``sql``.

Run from the repository root as ``python -m include.seed``. The password comes from the
``MYSQL_PWD`` environment variable only, never from an argument, and is never printed.
"""

from __future__ import annotations

import argparse
import io
import os
import sys

import MySQLdb

from include.seed.emitter import write_sql
from include.seed.generator import DEFAULT_EVENTS, DEFAULT_SEED
from include.seed.loader import DEFAULT_CHUNK_EVENTS, SeedError, connect, load_events

EPILOG = """\
examples:
  MYSQL_PWD=secret python -m include.seed load --port 3306 --user pinterest
  python -m include.seed sql --events 11000 --seed 42 > 10-seed.sql

load exits 0 after loading, and also when the tables already hold the same number of rows
(it prints that it skipped); it exits 1 when the tables hold different numbers of rows (a
partial load, named table by table) or on any database error.
"""


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of both commands."""
    parser = argparse.ArgumentParser(
        prog="python -m include.seed",
        description="Deterministic seed data for pinterest_data, geolocation_data and "
        "user_data: the same --seed always gives the same rows.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{load,sql}")
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument(
        "--events", type=_non_negative, default=DEFAULT_EVENTS, help="events (default %(default)s)"
    )
    data.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default %(default)s)")

    load = commands.add_parser(
        "load",
        parents=[data],
        help="create the tables and load them if all three are empty",
        description="Create the three tables if missing and, when all three are empty, "
        "insert the events. Password: environment variable MYSQL_PWD.",
    )
    load.add_argument("--host", default="127.0.0.1", help="server host (default %(default)s)")
    load.add_argument("--port", type=int, default=3306, help="server port (default %(default)s)")
    load.add_argument("--user", required=True, help="user name")
    load.add_argument(
        "--database", default="pinterest_data", help="database, must exist (default %(default)s)"
    )
    load.add_argument(
        "--chunk-size",
        type=_positive,
        default=DEFAULT_CHUNK_EVENTS,
        help="events per transaction (default %(default)s)",
    )
    commands.add_parser(
        "sql",
        parents=[data],
        help="write the schema and the events as INSERT statements to stdout",
        description="Write schema.sql and the events as multi-row INSERT statements, in "
        "UTF-8, to stdout: a MySQL init script giving the same rows as `load`.",
    )
    return parser


def _load(args: argparse.Namespace) -> int:
    where = f"{args.database} on {args.host}:{args.port}"
    try:
        conn = connect(
            host=args.host,
            port=args.port,
            user=args.user,
            password=os.environ.get("MYSQL_PWD"),
            database=args.database,
        )
        try:
            result = load_events(conn, args.events, args.seed, args.chunk_size)
        finally:
            conn.close()
    except (SeedError, MySQLdb.Error) as e:
        print(f"seed load into {where} failed: {e}", file=sys.stderr)
        return 1
    if result.skipped:
        print(f"skipped: {where} already holds {result.events} events in each table")
    else:
        print(
            f"loaded {result.events} events (seed {args.seed}) into {where} "
            f"in {result.seconds:.1f} s"
        )
    return 0


def _sql(args: argparse.Namespace) -> int:
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    try:
        write_sql(out, args.events, args.seed)
        out.flush()
    finally:
        out.detach()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status."""
    args = build_parser().parse_args(argv)
    return _load(args) if args.command == "load" else _sql(args)


if __name__ == "__main__":
    sys.exit(main())
