"""run a scenario in virtual time: metrics, totals and a report (eventmesh simulate)

    eventmesh simulate SCENARIO.yaml [--out DIR] [--seed N] [--set PATH=VALUE ...] [--jobs N]
                                     [--partitions N|auto] [--cluster tcp://scheduler:8786]
                                     [--no-report] [--quiet]

Exit status: 0 done, 1 a resource's totals did not balance (an engine bug: please report it),
2 the scenario is invalid (each problem printed with its key path).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario file (YAML; see docs/simulate.md)")
    parser.add_argument("--out", default=None, help="directory for summary.json, metrics.csv, report.html, PNGs")
    parser.add_argument("--seed", type=int, default=None, help="replace the scenario's seed")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="PATH=VALUE",
                        help="override a value, e.g. functions.worker.ReservedConcurrentExecutions=20")
    parser.add_argument("--jobs", type=int, default=None, help="sweep variants in parallel (default: cores)")
    parser.add_argument("--partitions", default="1", metavar="N",
                        help="run one scenario on N processes, each owning part of its resources, with the "
                             "results of one (auto: the machine's cores; see docs/scale-out.md)")
    parser.add_argument("--cluster", default=None, metavar="ADDRESS",
                        help="run a sweep's variants on a Dask scheduler (tcp://host:8786)")
    parser.add_argument("--no-report", action="store_true", help="write summary.json and metrics.csv only")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no totals table")


def _table(rows: list[Any]) -> str:
    columns = ("kind", "name", "sent", "delivered", "throttled", "failed", "dead_lettered", "dropped_by_age",
               "remaining", "balanced")
    cells = [[str(getattr(r, c)) if not isinstance(getattr(r, c), int) or isinstance(getattr(r, c), bool)
              else f"{getattr(r, c):,}" for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from eventmesh.simulate import write_outputs
    from eventmesh.simulate.partitioned import RunStatistics, partition_count, run_partitioned
    from eventmesh.simulate.paths import PathError
    from eventmesh.simulate.progress import Progress
    from eventmesh.simulate.results import RunResult
    from eventmesh.simulate.runner import run_variant
    from eventmesh.simulate.scenario import ScenarioError, load_scenario
    from eventmesh.simulate.sweep import dask_client, run_sweep

    try:
        scenario = load_scenario(args.scenario, args.settings, args.seed)
    except (ScenarioError, PathError) as exc:
        problems = exc.problems if isinstance(exc, ScenarioError) else [str(exc)]
        print(f"{args.scenario}: invalid scenario", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print(f"eventmesh simulate: --jobs takes a whole number >= 1, not {args.jobs}", file=sys.stderr)
        return 2
    try:
        partitions = partition_count(args.partitions)
    except ValueError:
        print(f"eventmesh simulate: --partitions takes a whole number >= 1 or auto, not {args.partitions}",
              file=sys.stderr)
        return 2
    if partitions > 1 and scenario.sweep:
        print("eventmesh simulate: --partitions splits one run; a sweep runs its variants in parallel already "
              "(--jobs): drop one of them", file=sys.stderr)
        return 2
    tty = sys.stderr.isatty() and not args.quiet
    run_stats: list[RunStatistics] = []
    try:
        if scenario.sweep:
            executor = dask_client(args.cluster) if args.cluster else None

            def done(result: RunResult) -> None:
                if tty:
                    print(f"  {result.variant}: {result.events:,} events in {result.wall_seconds:.1f} s",
                          file=sys.stderr)

            result: Any = run_sweep(scenario, jobs=args.jobs, executor=executor, on_done=done)
        else:
            bar = Progress(scenario.duration_s, scenario.name)
            bar.enabled = tty
            if partitions > 1:
                result = run_partitioned(scenario, partitions, progress=bar, statistics=run_stats)
            else:
                result = run_variant(scenario, progress=bar)
    except ScenarioError as exc:
        print(f"{args.scenario}: the scenario cannot run", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.out:
        try:
            paths = write_outputs(result, args.out, report=not args.no_report)
        except ImportError as exc:   # matplotlib missing: the data files are written, say what is not
            paths = result.write(args.out)
            print(f"eventmesh simulate: no report.html: {exc}", file=sys.stderr)
        if not args.quiet:
            print(f"wrote {', '.join(str(p) for p in paths[:3])}{' …' if len(paths) > 3 else ''} in {Path(args.out)}")
    runs = result.variants if hasattr(result, "variants") else [result]
    if not args.quiet:
        for one in runs:
            title = f"{one.scenario}{' [' + one.variant + ']' if one.variant else ''}"
            print(f"{title}: {one.virtual_seconds:g} s virtual in {one.wall_seconds:.2f} s wall, {one.events:,} events "
                  f"({one.events_per_wall_second:,.0f} events/s)")
            print(_table(one.totals))
        for stats in run_stats:
            print(f"partitions: {stats.partitions}, lookahead {stats.lookahead_s:g} s, {stats.windows:,} windows"
                  + (f", {stats.reruns} rerun" if stats.reruns else ""))
            for line in stats.placement:
                print(f"  {line}")
            for p in stats.per_partition:
                print(f"  partition {p.partition}: {p.busy_s:.2f} s running, {p.wait_s:.2f} s at barriers, "
                      f"{p.cpu_s:.2f} s CPU, {p.items_sent:,} items sent, {p.items_received:,} received")
    if not all(one.balanced for one in runs):
        print("eventmesh simulate: some totals do not balance (see the 'balanced' column)", file=sys.stderr)
        return 1
    return 0
