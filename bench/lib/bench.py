#!/usr/bin/env python3
"""The benchmarks behind bench/run (run as root; every job runs as the test user).

bench/run has installed the packages, checked the build and brought the test
cluster up. This script stages binaries and images in a fresh /tmp dir the
test user can read, runs the parts within the time budget, writes CSV, PNG
plots and summary.md, and removes what it made (jobs, staging dir, Charliecloud
--join shared-memory segments of its own tags).

Parts (see bench/README.md and parts/__init__.py): launch, pingpong, storm,
metadata, holder. Python 3 standard library only.
"""
import argparse
import datetime
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import budget  # noqa: E402
import parts  # noqa: E402
import report  # noqa: E402
import staging  # noqa: E402
from common import REPO, log  # noqa: E402
from context import Context  # noqa: E402


def run(ctx):
    log(f"budget {ctx.args.budget:g} min{' (quick)' if ctx.quick else ''}; results in {ctx.out}")
    staging.stage(ctx)
    budget.run_parts(ctx, parts.ALL)
    elapsed = report.write_summary(ctx, parts.ALL)
    if ctx.args.readme:
        report.update_readme(ctx)
    log(f"done in {elapsed / 60:.1f} min: {os.path.join(ctx.out, 'summary.md')}")


def parse_args():
    ap = argparse.ArgumentParser(prog="bench/run")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--budget", type=float)
    ap.add_argument("--out")
    ap.add_argument("--parts", help="comma-separated subset of " + ",".join(parts.NAMES))
    ap.add_argument("--keep", action="store_true", help="keep the staging dir (trial logs)")
    ap.add_argument("--readme", action=argparse.BooleanOptionalAction, default=None,
                    help="put summary.md into bench/README.md (default: yes for full runs of every part)")
    args = ap.parse_args()
    if args.readme is None:
        args.readme = not args.quick and args.parts is None
    if args.budget is None:
        args.budget = 4.2 if args.quick else 45  # --quick: under 5 minutes with overruns
    if args.out is None:
        day = datetime.date.today().isoformat()
        args.out = os.path.join(REPO, "bench", "results", day + ("-quick" if args.quick else ""))
    return args


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (jobs run as the test user; cold runs drop the page cache)")
    ctx = Context(args, parts.NAMES)
    try:
        run(ctx)
    finally:
        staging.cleanup(ctx)


if __name__ == "__main__":
    main()
