"""`scripts/bench` (python -m scripts.benchmark): parse the options, run the bench, print the table."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

from . import __doc__ as package_doc
from .codex_loop import codex_loop
from .compare import ROUNDS, compare, print_comparison
from .hook_costs import compare_hooks
from .report import print_table
from .run import run
from .settings import FULL, QUICK
from .soak import print_soak, soak
from .worktree import git

MAX_STREAMS = 200  # threads of one client process, sockets of one mitmdump


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scripts/bench", description=(package_doc or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a short run (1,000 deltas, fewer repetitions)")
    p.add_argument("--deltas", type=int, help="text deltas per answer (default 5000; quick 1000)")
    p.add_argument("--rate", type=int, help="deltas per second of the paced streams (default 2500; quick 4000)")
    p.add_argument("--reps", type=int, help="proxied streams per shape and pacing (default 2; quick 1)")
    p.add_argument("--concurrency", "--streams", dest="streams", type=int, metavar="N",
                   help=f"simultaneous streams of the concurrency run, each checked whole, with mitmdump's peak RSS "
                        f"(default 50, at most {MAX_STREAMS})")
    p.add_argument("--against", metavar="REF",
                   help="compare with the addon at git ref REF (a temporary worktree): both in one session, runs alternating, "
                        "two columns and their ratio")
    p.add_argument("--rounds", type=int, metavar="N",
                   help=f"with --against: rounds of fresh processes, start order alternating (default {ROUNDS}; an even number, so "
                        "each side starts first as often)")
    p.add_argument("--first-delta-only", action="store_true",
                   help="with --against: each round runs only the concurrent streams and the first delta, so many rounds "
                        "(16 tell a few per cent) fit in half an hour")
    p.add_argument("--legs", action="store_true",
                   help="with --against: split each first delta into its legs (connection, request, upstream, answer) "
                        "with probe addons before and after each addon; they cost both sides a little")
    p.add_argument("--hooks", action="store_true",
                   help="with --against: instead of streams through mitmdump, time each addon's hooks on a turn's way to the "
                        "first delta, in a process of its own per side and round (steady to a few microseconds)")
    p.add_argument("--profile", type=Path, metavar="FILE",
                   help="record the addon's mitmdump with py-spy (collapsed stacks into FILE); needs py-spy, skews the figures")
    p.add_argument("--script", type=Path, action="append", default=[], metavar="FILE",
                   help="load another mitmproxy script into the addon's mitmdump (to try a change side by side)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (mitmdump logs, models.json)")
    p.add_argument("--codex-loop", action="store_true",
                   help="only time the real Codex CLI's two-request agent loop: direct vs through the proxy")
    p.add_argument("--soak", action="store_true",
                   help="only run many sequential BYOK turns and show that connections and memory stay flat")
    p.add_argument("--soak-turns", type=int, default=1000, metavar="N", help="turns of each soak run (default 1000)")
    return p


def main() -> int:
    p = parser()
    args = p.parse_args()
    if args.codex_loop:
        for figure, seconds, note in codex_loop(args.reps or 3):
            print(f"{figure:<48} {seconds:6.2f} s   {note}")
        return 0
    if args.soak:
        if args.soak_turns < 1:
            p.error("--soak-turns must be at least 1")
        soak_dir = Path(tempfile.mkdtemp(prefix="codex-shim-soak-"))
        try:
            runs = soak(args.soak_turns, soak_dir)
        finally:
            if args.keep:
                print(f"logs kept in {soak_dir}")
            else:
                shutil.rmtree(soak_dir, ignore_errors=True)
        print_soak(runs)
        return 0 if all(run.flat() for run in runs) else 1
    overrides = {k: v for k in ("deltas", "rate", "reps", "streams") if (v := getattr(args, k)) is not None}
    for name, value in overrides.items():
        if value < 1:
            p.error(f"--{name} must be at least 1")
    if args.streams is not None and args.streams > MAX_STREAMS:
        p.error(f"--concurrency must be at most {MAX_STREAMS}")
    if args.rounds is not None and (not args.against or args.rounds < 2 or args.rounds % 2):
        p.error("--rounds goes with --against and is an even number, at least 2")
    if (args.first_delta_only or args.legs or args.hooks) and not args.against:
        p.error("--first-delta-only, --legs and --hooks go with --against")
    if args.hooks and (args.first_delta_only or args.legs):
        p.error("--hooks times the hooks alone: no --first-delta-only or --legs with it")
    if args.against and (args.profile or args.script):
        p.error("--against runs the two addons as they are: no --profile or --script with it")
    settings = dataclasses.replace(QUICK if args.quick else FULL, **overrides)
    workdir = Path(tempfile.mkdtemp(prefix="codex-shim-bench-"))
    try:
        if args.against and args.hooks:
            comparison = compare_hooks(args.against, git("describe", "--always", "--dirty"), args.rounds or ROUNDS, settings.ttfd_reps)
        elif args.against:
            comparison = compare(settings, workdir, args.against, git("describe", "--always", "--dirty"), args.rounds or ROUNDS,
                                 args.first_delta_only, args.legs)
        else:
            figures = run(settings, workdir, args.profile, [path.resolve() for path in args.script])
    finally:
        if args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.against:
        print_comparison(comparison)
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
