"""The embedded default: a local Elasticsearch-compatible server (noida-db) started on demand, data kept on disk."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from pipeline.core.errors import InfrastructureError

_ES_URL = re.compile(r"elasticsearch\s+(http://[\w.\-]+:\d+)")
STARTUP_TIMEOUT_S = 20.0
# noida-db keeps every index in memory and writes them all to this file, replaced atomically (a new file renamed
# over the old), on a tick of about a second when something changed (observed with noida-db 0.2.3). A write it
# has acknowledged is lost if the server dies before the next save: that is its whole durability guarantee.
SAVED_FILE = "elasticsearch.json"
_POLL_S = 0.02
NUDGE_AFTER_S = 2.5  # more than two save ticks without a save: nothing is left to save, write again


def _executable() -> str:
    """The noida-db launcher next to this Python (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "noida-db"
    if beside.exists():
        return str(beside)
    found = shutil.which("noida-db")
    if not found:
        raise InfrastructureError("noida-db is not installed (pip install noida-db) and ELASTICSEARCH_URL is not set")
    return found


def _run(*args: str, data_dir: Path, check: bool = True) -> str:
    proc = subprocess.run(
        [_executable(), *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    # noida-db prints a harmless glibc "weak version" warning on Debian 12; keep it away from users.
    output = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if "GLIBC_" not in line)
    if check and proc.returncode != 0:
        raise InfrastructureError(f"noida-db {args[0]} failed (exit {proc.returncode}): {output.strip()}")
    return output


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL we started
            return response.status == 200
    except OSError:
        return False


def running_url(data_dir: Path) -> str | None:
    """URL of the embedded server for this data folder if it is running and answering."""
    # `status` exits non-zero when nothing runs for this folder; that is an answer, not a failure.
    match = _ES_URL.search(_run("status", data_dir=data_dir, check=False))
    return match.group(1) if match and _answers(match.group(1)) else None


def ensure_embedded_server(data_dir: Path, port: int | None = None) -> str:
    """Start the embedded server for data_dir unless it already runs; return its URL."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InfrastructureError(f"cannot create the embedded Elasticsearch data folder {data_dir}: {exc}") from exc
    url = running_url(data_dir)
    if url:
        return url
    output = _run("up", "--only", "elasticsearch", "--elasticsearch-port", str(port or free_port()),
                  data_dir=data_dir)
    match = _ES_URL.search(output)
    if not match:
        raise InfrastructureError(f"noida-db started but printed no Elasticsearch URL: {output.strip()}")
    url = match.group(1)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not _answers(url):
        if time.monotonic() > deadline:
            raise InfrastructureError(f"embedded Elasticsearch at {url} did not answer within {STARTUP_TIMEOUT_S:.0f}s")
        time.sleep(0.1)
    return url


def save_marker(data_dir: Path) -> tuple[int, int, int] | None:
    """(inode, mtime in ns, size) of the server's saved file, or None before its first save: it changes with
    every save, because each save is a new file renamed over the old one."""
    try:
        stat = (data_dir / SAVED_FILE).stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def wait_for_save(data_dir: Path, since: tuple[int, int, int] | None, timeout: float,
                  nudge: Callable[[], None] | None = None) -> tuple[int, int, int] | None:
    """Wait until the embedded server has saved again since `since` (a save_marker); returns the new marker.

    The server saves only when something changed: if no save comes within NUDGE_AFTER_S (the change we wait for
    may already be in a save that finished before `since` was read), `nudge` is called to write again. Raises
    InfrastructureError when no save comes within `timeout` seconds (the server died, or its disk is full): the
    writes it acknowledged may not be on disk.
    """
    started = time.monotonic()
    nudged = started
    while (marker := save_marker(data_dir)) == since:
        now = time.monotonic()
        if now - started > timeout:
            raise InfrastructureError(f"the embedded Elasticsearch server did not save its data to {data_dir} "
                                      f"within {timeout:.0f} s: this run's writes may not be on disk; check "
                                      f"`newsetl server status` and run again")
        if nudge is not None and now - nudged > NUDGE_AFTER_S:
            nudge()
            nudged = now
        time.sleep(_POLL_S)
    return marker


def stop_embedded_server(data_dir: Path) -> None:
    """Stop the embedded server for data_dir (its data is saved)."""
    if data_dir.exists():
        _run("down", data_dir=data_dir)
