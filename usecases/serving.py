"""Browsing the read model in Datasette (``ledger serve``).

The read model is brought up to date, its metadata (descriptions, labels,
canned queries: ``projections.datasette_metadata``) is written to a private
temporary directory, and ``python -m datasette serve`` runs as a child process
on the read model in Datasette's plain (mutable) mode: the read model changes
while it is served, so it must not be opened as immutable. ``serve`` itself
catches the read model up every few seconds while Datasette runs, so appends
made with ``--defer-projection`` appear without another command. Ctrl-C stops
the server. The plugin and templates of ``usecases.datasette_site`` are handed
to that Datasette only.

Datasette names a database after its file, and a dot in the name
(``ledger.views``) makes its URLs tilde-encoded (``/ledger~2Eviews``). So the
server is given a symbolic link named after the ledger (``ledger.db`` →
``ledger.views.db``) and serves it as ``/ledger``; SQLite resolves the link,
so readers and the projector share one write-ahead log.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import ipaddress
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

from incident_ledger.ledger.errors import BadInputError, LedgerError
from incident_ledger.ledger.forking import end_with_parent
from incident_ledger.ledger.scratch import Scratch
from incident_ledger.projections.datasette_metadata import build_metadata, canned_queries
from incident_ledger.usecases.choices import DEFAULT_HOST, DEFAULT_PORT
from incident_ledger.usecases.datasette_site import PLUGINS, TEMPLATES
from incident_ledger.usecases.workspace import open_workspace

READY_TIMEOUT = 20.0
MISSING_DATASETTE = "ledger serve needs Datasette: pip install 'incident-ledger[web]'"


class ServeError(LedgerError):
    """The server cannot start: Datasette is missing or the port is taken."""

    exit_code = 1


@dataclass(frozen=True)
class ServePlan:
    """What ``serve`` runs: which file, under which name, with which metadata, where."""

    read_model: Path
    database: str
    route: str
    served: Path
    metadata: Path
    host: str
    port: int
    example: dict[str, str] | None = field(default=None)

    @property
    def base_url(self) -> str:
        """``http://host:port`` (IPv6 addresses in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The database's page."""
        return f"{self.base_url}/{self.route}"

    def query_url(self, query: str, **params: str) -> str:
        """The page of a canned query, with its parameters filled in."""
        url = f"{self.url}/{query}"
        return f"{url}?{urlencode(params)}" if params else url

    def command(self) -> list[str]:
        """The Datasette command line: plain (mutable) mode, this interpreter."""
        return [
            sys.executable,
            "-m",
            "datasette",
            "serve",
            str(self.served),
            "--metadata",
            str(self.metadata),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--plugins-dir",
            str(PLUGINS),
            "--template-dir",
            str(TEMPLATES),
        ]

    def summary(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "url": self.url,
            "database": self.database,
            "read_model": str(self.read_model),
            "queries": {name: self.query_url(name) for name in canned_queries()},
            "example": self.query_url("state_at", **self.example) if self.example else None,
        }


def datasette_installed() -> bool:
    """Is Datasette importable by this interpreter (the ``web`` extra)?"""
    return importlib.util.find_spec("datasette") is not None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, *, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless the caller chose it explicitly."""
    if not host.strip():
        raise BadInputError("{host} must not be empty", arguments=("host",))
    if not is_loopback(host) and not allow_remote:
        raise BadInputError(
            f"refusing to serve on {host}: the read model has no access control; "
            "give {host} explicitly to listen beyond this machine",
            arguments=("host",),
        )


def database_name(read_model: Path) -> str:
    """The URL name of a read model: ``ledger.views.db`` → ``ledger``."""
    stem = read_model.name.removesuffix(".db").removesuffix(".views")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")
    return name or "ledger"


def write_metadata(path: Path, database: str) -> Path:
    """Write the Datasette metadata for the read model served as ``database``."""
    document = build_metadata(database)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def prepare(db: str | None, workdir: Path, *, host: str, port: int) -> ServePlan:
    """Catch the read model up and lay out what Datasette serves in ``workdir``."""
    with open_workspace(db) as ws:
        ws.refresh()
        ws.views.require_projected(None)  # the whole model is served
        read_model = ws.views.path.resolve()
        example = _example(ws.views.connection)
    database = database_name(read_model)
    served = workdir / f"{database}.db"
    try:
        served.symlink_to(read_model)
        route = database
    except OSError:
        # No symbolic links here (some Windows set-ups): serve the file under its own name.
        from datasette.utils import tilde_encode

        served, database = read_model, read_model.stem
        route = str(tilde_encode(database))
    metadata = write_metadata(workdir / "metadata.json", database)
    return ServePlan(read_model, database, route, served, metadata, host, port, example)


def _example(connection: sqlite3.Connection) -> dict[str, str] | None:
    """The incident with the most claims, at the day of its latest report."""
    row = connection.execute(
        "SELECT incident, substr(MAX(published_at), 1, 10) FROM claims "
        "GROUP BY incident ORDER BY COUNT(*) DESC, incident LIMIT 1"
    ).fetchone()
    return None if row is None else {"incident": row[0], "at": row[1]}


def ensure_port_free(host: str, port: int) -> None:
    """Fail early, with a clear message, when the address cannot be listened on."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise BadInputError(f"cannot listen on {host}: {error.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise ServeError(
                f"cannot listen on {host} port {port}: {error.strerror}; choose another {{port}}",
                arguments=("port",),
            ) from None


def wait_until_ready(
    plan: ServePlan, process: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT
) -> bool:
    """Poll the server until it answers (True), exits or the timeout passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            import urllib.request  # here: it loads ssl, which other commands never need

            with urllib.request.urlopen(f"{plan.base_url}/-/versions.json", timeout=1):
                return True
        except OSError:  # urllib's URLError is an OSError
            time.sleep(0.1)
    return False


def serve(
    db: str | None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    allow_remote: bool = False,
    open_browser: bool = False,
    on_start: Callable[[ServePlan], None] | None = None,
) -> int:
    """Serve the read model with Datasette until stopped; returns the exit status.

    ``allow_remote`` permits a non-loopback ``host`` (the CLI sets it when
    ``--host`` is given). ``on_start(plan)`` is called just before the server
    starts. Ctrl-C (or SIGTERM) stops the server and returns 0.
    """
    if not datasette_installed():
        raise ServeError(MISSING_DATASETTE)
    check_host(host, allow_remote=allow_remote)
    if not 1 <= port <= 65_535:
        raise BadInputError("{port} must be between 1 and 65535", arguments=("port",))
    with Scratch("serve") as workdir:
        plan = prepare(db, workdir.path, host=host, port=port)
        ensure_port_free(host, port)
        if on_start is not None:
            on_start(plan)
        return run(plan, open_browser=open_browser, catch_up=functools.partial(catch_up, db))


CATCH_UP_EVERY = 2.0
"""Seconds between two catch-ups of the read model while serving."""


def catch_up(db: str | None) -> None:
    """Project what was appended since (``append --defer-projection`` leaves it to the next
    reader): the read model grows in place, in the file Datasette has open, so the next
    request sees it. A failed attempt (another writer holding the model) waits for the next."""
    with contextlib.suppress(LedgerError, sqlite3.Error), open_workspace(db) as ws:
        ws.refresh()


def run(
    plan: ServePlan,
    *,
    open_browser: bool = False,
    catch_up: Callable[[], None] | None = None,
) -> int:
    """Run Datasette for ``plan`` in the foreground until it exits or is interrupted,
    calling ``catch_up`` every ``CATCH_UP_EVERY`` seconds meanwhile."""
    with _sigterm_as_interrupt():
        # Datasette ends with this process, even one killed with SIGKILL (on Linux).
        # preexec_fn only sets the parent-death signal, before any thread is started.
        process = subprocess.Popen(
            plan.command(),
            preexec_fn=functools.partial(end_with_parent, os.getpid()),  # noqa: PLW1509
        )
        try:
            if open_browser and wait_until_ready(plan, process):
                webbrowser.open(plan.url)
            while True:
                try:
                    return process.wait(timeout=CATCH_UP_EVERY if catch_up else None)
                except subprocess.TimeoutExpired:
                    if catch_up is not None:
                        catch_up()
        except KeyboardInterrupt:
            return 0
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the server (Ctrl-C reached it too; SIGTERM did not)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While serving, SIGTERM stops the child like Ctrl-C instead of orphaning it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
