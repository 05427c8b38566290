"""The whole test suite, as CI runs it, beside CPU-bound processes: does it pass on a busy machine?

CI shares its two cores with other work, so a test that holds only on a quiet machine fails
there. This clones the repository's committed HEAD into --into (a fresh folder, as CI's clean
clone), starts --busy processes that each spin a core (``while True: pass``), then runs
``.ci/run`` (the README's ``make test``, set-up included) up to --runs times in a row, stopping
at the first failure. The busy processes run the whole time and are stopped at the end.

Each run's output goes to ``run-N.log`` beside the clone; ``tests/artifacts/failures.txt`` in the
clone has each failing test's traceback as soon as it fails, so a long run can be read while it
runs. --data is where the tests find the full image sets (the clone has no ../shared beside it).
The table: each run's exit status, pytest's summary and time, the whole run's time
(the first includes set-up: apt, pip, npm) and the load average (1 min) sampled every 30 s.

    python bench/loaded_suite.py [--busy 2] [--runs 2] [--into DIR] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"^=+ (.+) in ([\d.]+)s\b")


def pytest_summary(log: Path) -> tuple[str, float | None]:
    """pytest's last summary line in ``log`` ("692 passed") and its time in seconds."""
    found = ("no pytest summary", None)
    for line in log.read_text(errors="replace").splitlines():
        match = SUMMARY.match(line)
        if match:
            found = (match.group(1), float(match.group(2)))
    return found


class LoadSampler:
    """Samples the 1-minute load average every ``every`` seconds on a thread until stopped."""

    def __init__(self, every: float = 30.0) -> None:
        self.every = every

    def start(self) -> LoadSampler:
        self.samples_: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples_.append(os.getloadavg()[0])

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join()
        return self.samples_


def run_suite(clone: Path, log: Path, data: Path) -> tuple[int, float, list[float]]:
    """One ``.ci/run`` in ``clone``, its tests reading the image sets in ``data``: its exit status,
    wall time and load samples."""
    sampler = LoadSampler().start()
    start = time.monotonic()
    with open(log, "w") as out:
        status = subprocess.run(["bash", ".ci/run"], cwd=clone, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "CI": "true", "STUDIO_DATA": str(data)}).returncode
    return status, time.monotonic() - start, sampler.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound processes beside the suite")
    parser.add_argument("--runs", type=int, default=2, help="runs in a row (stops at the first failure)")
    parser.add_argument("--into", type=Path, help="a new folder for the clone and the logs (default: a temporary one)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="the full image sets (tests that need them skip where they are missing)")
    args = parser.parse_args()

    work = args.into or Path(tempfile.mkdtemp(prefix="studio-loaded-"))
    clone = work / "clone"
    if clone.exists():
        sys.exit(f"{clone} already exists: pass --into a new folder, so the suite runs in a fresh clone.")
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True,
                            text=True, check=True).stdout.strip()
    print(f"commit {commit}, {args.busy} busy process(es) on {os.cpu_count()} core(s); logs in {work}", flush=True)

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    rows = []
    try:
        for n in range(1, args.runs + 1):
            log = work / f"run-{n}.log"
            status, wall, loads = run_suite(clone, log, args.data.resolve())
            summary, pytest_s = pytest_summary(log)
            rows.append((n, status, summary, pytest_s, wall, loads))
            print(f"run {n}: exit {status}, {summary}", flush=True)
            if status != 0:
                print(f"failures: {clone / 'tests/artifacts/failures.txt'}", flush=True)
                break
    finally:
        for proc in busy:
            proc.terminate()
            proc.wait()

    print(f"\n{'run':>3}  {'exit':>4}  {'pytest':<28} {'pytest min':>10}  {'run min':>7}  load avg median (min-max)")
    for n, status, summary, pytest_s, wall, loads in rows:
        pytest_min = f"{pytest_s / 60:.1f}" if pytest_s is not None else "-"
        load = (f"{statistics.median(loads):.1f} ({min(loads):.1f}-{max(loads):.1f})" if loads else "-")
        print(f"{n:>3}  {status:>4}  {summary:<28} {pytest_min:>10}  {wall / 60:>7.1f}  {load}")
    sys.exit(0 if rows and all(row[1] == 0 for row in rows) and len(rows) == args.runs else 1)


if __name__ == "__main__":
    main()
