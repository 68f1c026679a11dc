# SPDX-License-Identifier: BSD-2-Clause
"""The e2e runner's checks and cases: the Test a case gets, the @case registry, the figures
several cases share, and main(), which runs named cases (e2e.py is its entry).

A case is a function of a Test, registered with @case under its name with '-' for '_'
(meson's e2e-NAME). It runs the daemon through t.run (phcsim.py) and checks what
happened with t.check, t.le, t.eq and the like: each prints its figure and bound, and a
failure also says why the bound and where the files are kept. Exit status of main(): 0
when every check passed, 1 otherwise, phcsim.SKIP (77) when a case cannot run on this
machine (it raised phcsim.Skip), phcsim.HARD_ERROR (99) when the harness is broken.
"""

import contextlib
import importlib
import io
import pathlib
import re
import sys
import traceback

import phcsim
from phcsim import HARD_ERROR, SKIP, Harness, HarnessError, Skip, Workdir, max_abs, rms

US = 1000
MS = 1000 * US
S = 1000 * MS

# The PI servo needs two samples (1 s apart) for its first frequency estimate, steps, and
# is then within 1 us at the next poll: lock within 5 polls leaves room for a slow start.
LOCK_BOUND_S = 5
# The base KVM scenario (scenarios/kvm.scn) and the readout noise of each driver profile,
# for the readout method auto picks (tests/sim/README.md).
KVM = {"duration": "30m", "sys_offset": "1.5s", "sys_freq_ppm": "50"}
KVM_NOISE_NS = 20
PROFILE_NOISE_NS = {"kvm": 20, "vmw": 50, "hyperv": 50, "vmclock": 10, "ena": 100}
# The start offset of scenarios/profile.scn.
PROFILE_START_NS = 200 * MS
# The default servo, as the shipped phcsyncd.conf documents it ("#servo NAME").
DEFAULT_SERVO = re.search(
    r"(?m)^#servo (\w+)$",
    (pathlib.Path(__file__).resolve().parents[2] / "conf" / "phcsyncd.conf").read_text()).group(1)


class Test:
    """One case: its runs, its checks and its work directory."""

    def __init__(self, name, harness):
        self.name = name
        self.harness = harness
        self.work = Workdir(name)
        self.count = 0
        self.failed = 0

    def run(self, label, scenario, **kw):
        return phcsim.run(self.harness, self.work, label, scenario, **kw)

    def check(self, run, ok, figure, why=None):
        """Print one result; a failure also says why the bound (when given) and where the
        files are kept."""
        self.count += 1
        print(f"{'ok' if ok else 'not ok'} {self.count} - {self.name}: {figure}")
        if ok:
            return
        if why:
            print(f"#   why this bound: {why}")
        where = run.where() + "; " if run else ""
        print(f"#   {where}files kept in {self.work.path}")
        self.failed += 1

    def le(self, run, figure, value, bound, why, unit=""):
        self.check(run, value is not None and value <= bound,
                   f"{figure} = {fmt(value)}{unit} (bound <= {fmt(bound)}{unit})", why)

    def ge(self, run, figure, value, bound, why, unit=""):
        self.check(run, value is not None and value >= bound,
                   f"{figure} = {fmt(value)}{unit} (bound >= {fmt(bound)}{unit})", why)

    def near(self, run, figure, value, want, tol, why, unit=""):
        self.check(run, value is not None and abs(value - want) <= tol,
                   f"{figure} = {fmt(value)}{unit} (bound {fmt(want)} +- {fmt(tol)}{unit})",
                   why)

    def eq(self, run, figure, value, want, why):
        self.check(run, value == want, f"{figure} = {value!r} (expected {want!r})", why)

    def log_has(self, run, pattern, why):
        lines = run.log_grep(pattern)
        shown = lines[0] if lines else "none"
        self.check(run, bool(lines), f"log matches /{pattern}/: {shown}", why)

    def log_lacks(self, run, pattern, why):
        lines = run.log_grep(pattern)
        shown = lines[0] if lines else "none"
        self.check(run, not lines, f"log never matches /{pattern}/: {shown}", why)

    # Figures shared by several cases.

    def locks(self, run, label, since_t=0.0, until_t=None, ref=None, bound_s=LOCK_BOUND_S,
              why=None):
        lock = run.lock_time(since_t=since_t, until_t=until_t, ref=ref)
        delay = None if lock is None else lock - since_t
        self.le(run, f"{label}: seconds until |error| < 1 us for good", delay, bound_s,
                why or "a step, then the PI servo within a few polls", " s")
        return lock

    def holds(self, run, label, since_t, noise_ns, ref=None):
        err = run.errors(since_t=since_t, ref=ref)
        self.le(run, f"{label}: RMS true error after lock", rms(err), 3 * noise_ns,
                f"3 x the readout noise ({noise_ns} ns)", " ns")
        self.le(run, f"{label}: max |true error| after lock", max_abs(err), 10 * noise_ns,
                f"10 x the readout noise ({noise_ns} ns)", " ns")

    def steps(self, run, label, count, why):
        self.eq(run, f"{label}: steps taken", len(run.steps()), count, why)

    def clean_exit(self, run, label):
        self.eq(run, f"{label}: exit status", run.rc, 0, "SIGTERM at the end is a clean exit")
        self.check(run, run.ended_by_scenario(), f"{label}: ran to the scenario's end",
                   "the daemon must survive the scenario")


def fmt(v):
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) < 1e6 else f"{v:.6g}"
    return str(v)


# name -> the case's function; e2e.py's cases, then cases_*.py's.
CASES = {}


def case(fn):
    """Register the case fn under its name, '-' for '_'."""
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


def run_captured(name, fn, *args):
    """fn(t, *args) on a new Test named name, its output captured (the scripts' workers):
    the failed checks, the output, and the work directory, kept when a check failed."""
    t = Test(name, Harness())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            fn(t, *args)
        except Exception as e:  # a run that breaks the test fails like any other
            t.failed += 1
            print(f"not ok - {name}: the test stopped on an error: {e!r}")
    if not t.failed:
        t.work.remove()
    return t.failed, out.getvalue(), t.work.path


def load_case_modules():
    """The cases of cases_*.py beside this file (they import this module for @case)."""
    for path in sorted(pathlib.Path(__file__).parent.glob("cases_*.py")):
        importlib.import_module(path.stem)


def main(argv):
    """Run the cases argv[1:] names (--list: print every name); the exit status."""
    load_case_modules()
    if argv[1:] == ["--list"]:
        print("\n".join(CASES))
        return 0
    names = argv[1:]
    unknown = [n for n in names if n not in CASES]
    if not names or unknown:
        print(f"usage: e2e.py CASE... (unknown: {unknown}); cases: {' '.join(CASES)}")
        return HARD_ERROR
    try:
        harness = Harness()
    except HarnessError as e:
        print(f"Bail out! {e}")
        return HARD_ERROR
    failed = skipped = 0
    for name in names:
        t = Test(name, harness)
        try:
            CASES[name](t)
        except Skip as e:
            print(f"# skip {name}: {e}")
            t.work.remove()
            skipped += 1
            continue
        except HarnessError as e:
            print(f"Bail out! {name}: {e}; files kept in {t.work.path}")
            return HARD_ERROR
        except Exception:
            traceback.print_exc(file=sys.stdout)
            t.count += 1
            t.failed += 1
            print(f"not ok {t.count} - {name}: the test stopped on an error; files kept in "
                  f"{t.work.path}")
        print(f"1..{t.count}")
        if t.failed:
            print(f"# {name}: {t.failed} of {t.count} checks failed; files kept in "
                  f"{t.work.path}")
            failed += 1
        else:
            t.work.remove()
    return 1 if failed else SKIP if skipped == len(names) else 0


