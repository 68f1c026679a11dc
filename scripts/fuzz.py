#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Run the fuzzer of tests/e2e/cases_fuzz.py on more seeds and print the failing ones.

    scripts/fuzz.py [--build DIR] [--seeds N] [--start S] [--jobs N] [--old-sim] [-v]

Each seed writes a scenario of random events (cases_fuzz.generate) and runs phcsyncd
through it under phcsim (tests/e2e/phcsim.py: the daemon never runs outside the
simulator). --old-sim leaves out the events today's simulator does not parse yet.
A failing seed keeps its files and is printed with the command that reruns it; keep it
as tests/e2e/scenarios/fuzz-SEED.scn (the generated file, with a first comment line
saying what it found) and the e2e-fuzz-0 test runs it from then on.
"""

import argparse
import concurrent.futures
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import checks  # noqa: E402 (found through the line above)
import phcsim  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"),
                   help="meson build directory (default: %(default)s)")
    p.add_argument("--seeds", type=int, default=100, help="how many seeds (default 100)")
    p.add_argument("--start", type=int, default=1000, help="first seed (default 1000)")
    p.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    p.add_argument("--old-sim", action="store_true",
                   help="no phc_freeze, phc_backstep, phc_delay_spike, EINTR, +-10 %% PHC")
    p.add_argument("-v", "--verbose", action="store_true", help="print every check")
    return p.parse_args()


def run_seed(seed):
    import cases_fuzz  # here: it reads PHCSYNC_FUZZ_NEW_SIM when imported
    return (seed,) + checks.run_captured(f"fuzz-{seed}", cases_fuzz.run_seed, seed)


def main():
    args = parse_args()
    build = os.path.abspath(args.build)
    if args.old_sim:
        os.environ["PHCSYNC_FUZZ_NEW_SIM"] = "0"
    try:
        phcsim.use_build(build)
    except phcsim.HarnessError as e:
        print(f"fuzz.py: {e} (build first: meson compile -C {args.build})")
        return 2
    seeds = range(args.start, args.start + args.seeds)
    start = time.monotonic()
    failing = []
    rel = os.path.relpath(build, REPO)
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for seed, failed, out, path in pool.map(run_seed, seeds):
            if args.verbose:
                print(out, end="")
            if failed:
                failing.append(seed)
                print(f"FAIL seed {seed} (files in {path}):")
                for line in out.splitlines():
                    if line.startswith("not ok"):
                        print(f"    {line.split(': ', 1)[-1][:200]}")
                print(f"  rerun: scripts/fuzz.py --build {rel} --seeds 1 --start {seed} -v"
                      f"{' --old-sim' if args.old_sim else ''}")
    print(f"\n{len(seeds)} seeds in {time.monotonic() - start:.0f} s, {len(failing)} "
          f"failing: {' '.join(map(str, failing)) or 'none'}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
