#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Run the whole sweep of tests/e2e/cases_sweep.py (4800 runs; CI runs 576 of them) and
sum up the failures by kind.

    scripts/sweep.py [--build DIR] [--only PATTERN] [--ci] [--jobs N] [-v]

Every run goes through the e2e harness (tests/e2e/phcsim.py), so phcsyncd only ever runs
under phcsim. A failing run keeps its files (scenario, configuration, trace, log) and is
printed with the command that reruns it alone; -v prints every check of every run.
"""

import argparse
import collections
import concurrent.futures
import fnmatch
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import cases_sweep  # noqa: E402 (found through the line above)
import checks  # noqa: E402
import phcsim  # noqa: E402

# Failure kinds: the first pattern found in a failed check's line names it.
KINDS = [
    ("clock_adjtime refused by the kernel", r"clock_adjtime calls refused"),
    ("synced (STA_UNSYNC clear) beyond maxerror", r"synced ticks"),
    ("not converged in the class's bound", r"seconds until \|error\|"),
    ("slew slower than 8 %", r"slowest slew|slewed off in"),
    ("slew overshoots", r"largest growth of \|error\|"),
    ("max_offset_panic not logged exactly once", r"/max_offset_panic/"),
    ("refused offset moved the clock", r"frequency changes|moved after the jump"),
    ("wrong number of steps", r"steps after the event"),
    ("step late or of the wrong size", r"step at|step size"),
    ("not locked before the jump", r"locked before the jump"),
    ("daemon did not run to the end", r"exit status|ran to the scenario's end"),
    ("test error", r"stopped on an error|Traceback"),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"),
                   help="meson build directory (default: %(default)s)")
    p.add_argument("--only", metavar="PATTERN", help="run ids matching (shell pattern)")
    p.add_argument("--ci", action="store_true", help="only the runs CI makes")
    p.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every check")
    return p.parse_args()


def kind_of(line):
    for name, pattern in KINDS:
        if re.search(pattern, line):
            return name
    return "other"


def run_one(point_id):
    name = re.sub(r"[^\w+-]", "_", point_id)
    return (point_id,) + checks.run_captured(name, cases_sweep.run_point, POINTS[point_id])


POINTS = {}


def main():
    args = parse_args()
    try:
        phcsim.use_build(args.build)
    except phcsim.HarnessError as e:
        print(f"sweep.py: {e} (build first: meson compile -C {args.build})")
        return 2
    points = cases_sweep.ci_points() if args.ci else cases_sweep.all_points()
    if args.only:
        points = [p for p in points if fnmatch.fnmatch(p.id, args.only)]
    POINTS.update((p.id, p) for p in points)
    start = time.monotonic()
    failing = {}
    kinds = collections.Counter()
    examples = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for pid, failed, out, path in pool.map(run_one, list(POINTS), chunksize=4):
            bad = [line for line in out.splitlines() if line.startswith("not ok")]
            if args.verbose:
                print(out, end="")
            if failed:
                names = sorted({kind_of(line) for line in bad})
                failing[pid] = (names, path)
                for n in names:
                    kinds[n] += 1
                    examples.setdefault(n, pid)
                print(f"FAIL {pid}: {'; '.join(names)} (files in {path})")
    wall = time.monotonic() - start
    build = os.path.relpath(os.path.abspath(args.build), REPO)
    print(f"\n{len(POINTS)} runs in {wall:.0f} s, {len(failing)} failing")
    for name, count in kinds.most_common():
        print(f"  {count:5d}  {name}: e.g. scripts/sweep.py --build {build} "
              f"--only '{examples[name]}' -v")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
