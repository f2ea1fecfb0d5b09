"""Measuring tools for the benchmark harness: timed subprocesses, percentiles, the machine.

Only the standard library: ``time.perf_counter`` for wall time and
``resource.getrusage`` for peak memory.

Peak RSS of a command: ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the largest
peak of *any* child a process has waited for, so it can only grow over a run
and a harness that launched a big child first could never see a smaller one.
Each measured command therefore runs under a fresh ``python -c`` wrapper
(:data:`WRAPPER`) whose only child is that command: the wrapper's
RUSAGE_CHILDREN maximum, read after the child exits, is exactly the
command's peak. The wrapper also takes the wall time around the child with
``time.perf_counter``, so the interpreter start of the wrapper itself is not
counted (the start of the measured command is).
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WRAPPER = """\
import json, resource, subprocess, sys, time
report, argv = sys.argv[1], sys.argv[2:]
before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
start = time.perf_counter()
code = subprocess.call(argv)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(report, "w") as handle:
    json.dump({"seconds": seconds, "code": code, "maxrss": after, "before": before}, handle)
"""

_CLEARED_ENV = ("LEDGER_DB", "LEDGER_VIEWS", "LEDGER_KEY")


@dataclass(frozen=True)
class Measured:
    """One command run under the wrapper: wall time, peak RSS and its output."""

    seconds: float
    peak_rss_bytes: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The command's standard output parsed as JSON (commands run with ``--json``)."""
        return json.loads(self.stdout)


class CommandFailed(RuntimeError):
    """A benchmarked command exited with a non-zero status."""


def ledger_command() -> list[str]:
    """The project's own ``ledger`` console script, beside this interpreter."""
    script = Path(sys.executable).with_name("ledger")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cli"]


PACKAGES = ("ledger", "projections", "cli")


def compile_project() -> None:
    """Compile the project's modules to bytecode, as pip does when it installs a package.

    An interpreter that may not write bytecode (``PYTHONDONTWRITEBYTECODE``) would
    otherwise compile every module of the project again at each command's start,
    which no installed copy does; the library's own modules were compiled at install.
    """
    import compileall
    import importlib

    for name in PACKAGES:
        package = importlib.import_module(name)
        compileall.compile_dir(str(Path(package.__path__[0])), quiet=1)


def child_env() -> dict[str, str]:
    """This environment without the variables that would redirect a ledger command."""
    return {k: v for k, v in os.environ.items() if k not in _CLEARED_ENV}


def _rss_bytes(maxrss: int) -> int:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def _wrapped(
    arguments: list[str], cwd: Path, report: Path
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run ``python -c WRAPPER ARGS…``; return the run and the report the wrapper wrote."""
    done = subprocess.run(
        [sys.executable, "-c", *arguments],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if not report.exists():
        raise CommandFailed(f"the measuring wrapper failed: {done.stderr.strip()}")
    return done, json.loads(report.read_text())


def run_measured(argv: Sequence[str], cwd: Path) -> Measured:
    """Run ``argv`` under the fresh wrapper; raise CommandFailed on a non-zero exit."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "measure.json"
        done, result = _wrapped([WRAPPER, str(report), *argv], cwd, report)
    if result["code"] != 0:
        raise CommandFailed(
            f"{' '.join(argv)} exited with {result['code']}: {done.stderr.strip()[-2000:]}"
        )
    return Measured(
        float(result["seconds"]), _rss_bytes(int(result["maxrss"])), done.stdout, done.stderr
    )


SCREEN_LINES = 50
"""The first screen of a command's output: until its first this many lines (or the whole
output, when shorter) were read from a pipe."""

LIMITED_WRAPPER = """\
import json, os, resource, signal, subprocess, sys, threading, time
report, limit, rss_limit, out, err = sys.argv[1:6]
limit, rss_limit, argv = float(limit), int(rss_limit), sys.argv[6:]
killed, seen = [], [0]
def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
def watch(child, start):
    while child.returncode is None:
        time.sleep(0.1)
        seconds, now = time.perf_counter() - start, rss(child.pid)
        seen[0] = max(seen[0], now)
        reason = "time" if seconds > limit else "memory" if rss_limit and now > rss_limit else None
        if reason and child.returncode is None:
            killed.append((reason, seconds))
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
lines, first = 0, None
with open(out, "wb") as sink, open(err, "wb") as errors:
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, start_new_session=True)
    threading.Thread(target=watch, args=(child, start), daemon=True).start()
    for chunk in iter(lambda: child.stdout.read1(1 << 16), b""):
        sink.write(chunk)
        lines += chunk.count(b"\\n")
        if first is None and lines >= SCREEN:
            first = time.perf_counter() - start
    code = child.wait()
    seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(report, "w") as handle:
    json.dump({"seconds": seconds, "code": code, "maxrss": after, "seen": seen[0],
               "first": seconds if first is None else first,
               "killed": killed[0] if killed and code == -signal.SIGKILL else None}, handle)
""".replace("SCREEN", str(SCREEN_LINES))
"""The wrapper of :func:`run_limited`: :data:`WRAPPER` with a watchdog thread that kills
the command (its whole process group) past a wall-time or resident-memory limit, reading
the command's output from a pipe to time its first screen."""


@dataclass(frozen=True)
class Outcome:
    """One command run under a time and memory limit: how it ended, its time and peak RSS."""

    seconds: float
    peak_rss_bytes: int
    code: int
    killed: str | None
    """None, or why the command was killed: "time" or "memory"."""
    stderr: str
    first_screen: float = 0.0
    """Seconds until the first ``SCREEN_LINES`` lines of its output were read."""

    def shown(self) -> str:
        """The figure as the table prints it: "1.23 s, 45.6 MB" or how it was stopped."""
        rss = f"{self.peak_rss_bytes / 1_000_000:,.1f} MB"
        if self.killed == "time":
            return f"killed after {self.seconds:,.0f} s, {rss}"
        if self.killed == "memory":
            return f"killed at {rss} RSS after {self.seconds:,.1f} s"
        if self.code != 0:
            last = self.stderr.strip().splitlines()[-1:] or ["no message"]
            return f"failed (exit {self.code}): {last[0][:120]}"
        if self.seconds < 1:
            return f"{self.seconds * 1000:,.0f} ms, {rss}"
        return f"{self.seconds:,.2f} s, {rss}"


def run_limited(
    argv: Sequence[str], cwd: Path, stdout: Path, *, timeout: float, rss_limit: int = 0
) -> Outcome:
    """Run ``argv`` under :data:`LIMITED_WRAPPER`, its output into the file ``stdout``.

    Killed after ``timeout`` seconds, or once its resident memory passes
    ``rss_limit`` bytes (0: no memory limit; read from ``/proc``, so Linux only).
    A command that fails or is killed is reported, not raised: a long run keeps
    the figures of the other commands.
    """
    with tempfile.TemporaryDirectory() as scratch:
        report, errors = Path(scratch) / "measure.json", Path(scratch) / "stderr"
        limits = [str(report), str(timeout), str(rss_limit), str(stdout), str(errors)]
        _, result = _wrapped([LIMITED_WRAPPER, *limits, *argv], cwd, report)
        stderr = errors.read_text(encoding="utf-8", errors="replace")
    killed = result["killed"]
    peak = max(_rss_bytes(int(result["maxrss"])), int(result["seen"]))
    return Outcome(
        float(result["seconds"]),
        peak,
        int(result["code"]),
        killed and killed[0],
        stderr,
        float(result["first"]),
    )


def run_quiet(argv: Sequence[str], cwd: Path) -> str:
    """Run a set-up command (not measured); return its standard output."""
    done = subprocess.run(
        list(argv), cwd=cwd, env=child_env(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise CommandFailed(
            f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return done.stdout


def wall_seconds(argv: Sequence[str], cwd: Path) -> float:
    """Wall time of one run of ``argv`` (output discarded), timed around the subprocess."""
    start = time.perf_counter()
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise CommandFailed(f"{' '.join(argv)} exited with {done.returncode}")
    return seconds


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 = median, 0.99 = p99) of a non-empty list."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (the machine may be shared), or "n/a"."""
    try:
        return " / ".join(f"{load:.2f}" for load in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def machine() -> dict[str, str]:
    """Where and when the figures were taken (and how busy the machine was at the start)."""
    return {
        "load": load_average(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": f"{os.cpu_count()} × {_cpu_model()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
