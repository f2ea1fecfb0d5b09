"""Aggregate append throughput with concurrent writers, on SQLite or PostgreSQL.

    python -m benchmarks.writers --db ledger.db --writers 4 --batches 20 --batch 500
    python -m benchmarks.writers --db 'postgresql://user@127.0.0.1:5432/db?schema=bench' ...

Each writer is a separate process appending its own JSON Lines batches through
the same service the CLI uses; the figure is all claims over the wall time from
the first start to the last finish, and the writers' own CPU time beside it (the
database server's is not counted). The ledger must be empty or absent.

A writer process appends all its files, one after the other, opening the ledger
for each: a long-lived writer. With ``--cli`` each file is appended as a user
appends it, by a ``ledger append --file FILE`` process of its own (the writer
starts them one after the other), so that the figure includes what a process
costs to start: interpreter, imports and command line.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITER = """
import sys
from incident_ledger.usecases import auditing
from incident_ledger.usecases import writing
for name in sys.argv[2:]:
    writing.append_file(sys.argv[1], name)
"""

CLI_WRITER = """
import subprocess
import sys
for name in sys.argv[2:]:
    command = [sys.executable, "-m", "incident_ledger.cli", "--db", sys.argv[1], "append"]
    subprocess.run([*command, "--file", name], check=True, stdout=subprocess.DEVNULL)
"""

SETUP: list[dict[str, object]] = [
    {"type": "incident", "id": "bench", "title": "Benchmark incident"},
    {"type": "source", "id": "bench-src", "name": "Bench", "kind": "outlet"},
    {"type": "report", "id": "bench-r", "source": "bench-src", "published_at": "2022-01-21"},
]


def write(path: Path, records: list[dict[str, object]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _children_cpu() -> float:
    """User + system CPU seconds of the child processes waited for so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--cli", action="store_true", help="append each file by a 'ledger append' process"
    )
    args = parser.parse_args(argv)
    from incident_ledger.usecases import auditing, writing

    with tempfile.TemporaryDirectory() as workdir:
        folder = Path(workdir)
        writing.init(args.db)
        writing.append_file(args.db, write(folder / "setup.jsonl", SETUP))
        plans = []
        for w in range(args.writers):
            files = []
            for b in range(args.batches):
                records: list[dict[str, object]] = [
                    {
                        "type": "claim",
                        "id": f"w{w}-b{b}-{n}",
                        "incident": "bench",
                        "fact": "killed.total",
                        "value": n,
                        "report": "bench-r",
                    }
                    for n in range(args.batch)
                ]
                files.append(write(folder / f"w{w}-{b}.jsonl", records))
            plans.append(files)
        started, used = time.perf_counter(), _children_cpu()
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", CLI_WRITER if args.cli else WRITER, args.db, *files]
            )
            for files in plans
        ]
        codes = [p.wait() for p in processes]
        elapsed, cpu = time.perf_counter() - started, _children_cpu() - used
    total = args.writers * args.batches * args.batch
    backend = "postgresql" if args.db.startswith("postgres") else "sqlite"
    print(
        f"{backend}: {args.writers} writer(s){' (ledger append)' if args.cli else ''}, "
        f"{total} claims in {elapsed:.2f} s = "
        f"{total / elapsed:,.0f} claims/s (exit codes {codes}); the writers' CPU "
        f"{cpu:.2f} s (user + sys), {total / cpu:,.0f} claims per CPU second"
    )
    verified = auditing.verify(args.db)
    print(f"verify: {verified['events']} events, tree size {verified['tree_size']}")
    return 0 if not any(codes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
