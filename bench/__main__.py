"""``make bench``: every scenario on the real processes, one table of results.

    make bench                                   # SQLite
    make bench ARGS="--db postgresql URL"        # PostgreSQL (a server where the user
                                                 # may create databases)
    python -m bench --quick --only callback,burst

Each scenario gets a fresh stack (the Procfile's processes on free loopback ports, as
``make run`` starts them; see ``bench.env``). The table is printed and written to
``bench/results/<date>-<db>.md`` with its charts. Figures are printed, never asserted:
the tests check behaviour, this measures speed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

from bench import report
from bench.env import BenchEnv
from bench.load import WRK_MISSING, wrk_available
from bench.options import Options
from bench.report import Section
from tests.harness import procfile
from tests.harness.postgres import POSTGRES_MISSING, postgres_database, server_bindir, stop_server

#: Scenario names, in running order: each is ``bench.scenarios.<name>.run``.
SCENARIOS = ("callback", "completion", "burst", "sweep", "storefront")


def _scenario(name: str) -> Callable[[BenchEnv, Options], Section]:
    module = importlib.import_module(f"bench.scenarios.{name}")
    run: Callable[[BenchEnv, Options], Section] = module.run
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        nargs="+",
        default=["sqlite"],
        metavar="DB",
        help="sqlite (default), or postgresql [URL] (default: TEST_DATABASE_URL, else a "
        "throwaway server as the tests start)",
    )
    parser.add_argument("--quick", action="store_true", help="short runs, to try the bench")
    parser.add_argument(
        "--only", default="", help=f"comma-separated scenarios ({', '.join(SCENARIOS)})"
    )
    parser.add_argument("--results", type=Path, default=report.RESULTS, help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep each scenario's databases and process logs under DIR",
    )
    args = parser.parse_args(argv)

    database, *rest = args.db
    if database not in ("sqlite", "postgresql") or len(rest) > (database == "postgresql"):
        parser.error("--db takes `sqlite` or `postgresql [URL]`")
    server = rest[0] if rest else os.environ.get("TEST_DATABASE_URL", "")
    if database == "postgresql" and not (server or server_bindir()):
        parser.error(POSTGRES_MISSING)
    if not wrk_available():
        parser.error(WRK_MISSING)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")

    options = Options(database=database, results=args.results, quick=args.quick)
    started = datetime.now()
    loads = [os.getloadavg()]
    sections = []
    try:
        for name in names:
            print(f"== {name} (load average {_load()})", flush=True)
            t0 = time.perf_counter()
            with _environment(database, server, args.keep and args.keep / name) as env:
                section = _scenario(name)(env, options)
            loads.append(os.getloadavg())
            sections.append(section)
            print(report.table(section.rows), flush=True)
            print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        stop_server()

    context = [
        f"{started:%Y-%m-%d %H:%M}, {report.machine()}, commit {_commit()}"
        + (" (quick run)" if args.quick else ""),
        f"Database: {database}" + (f" ({_server_version(server)})" if server else ""),
        "Load average (1 min) before and after each scenario: "
        + ", ".join(f"{la[0]:.1f}" for la in loads)
        + " (other work on the machine included)",
        f"Shop: `{procfile()['shop']}`; the baseline runs under the same command line",
    ]
    text = report.document(f"Benchmark results: {database}", context, sections)
    print()
    print(report.table([row for s in sections for row in s.rows]))
    path = report.write(text, database, args.results, started.date())
    print(f"\nwritten to {path}")
    return 0


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _server_version(url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            version = str(conn.execute(sa.text("SHOW server_version")).scalar_one())
        return f"PostgreSQL {version.split()[0]}"
    except Exception:  # noqa: BLE001 - only for the report's context line
        return "PostgreSQL"
    finally:
        engine.dispose()


@contextmanager
def _environment(database: str, server: str, keep: Path | None) -> Iterator[BenchEnv]:
    with ExitStack() as stack:
        if keep:
            shutil.rmtree(keep, ignore_errors=True)
            tmp = str(keep)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))
        shop_url = baseline_url = None
        if database == "postgresql":
            shop_url = stack.enter_context(postgres_database(server or None))
            baseline_url = stack.enter_context(postgres_database(server or None))
        env = BenchEnv(Path(tmp), database, shop_url, baseline_url)
        try:
            yield env
        finally:
            env.close()


if __name__ == "__main__":
    sys.exit(main())
