"""Kill points for crash tests: run a newsetl command in a child process that dies (SIGKILL) at a chosen call.

`run_killed(point, command, args, env)` starts `python -c` with a script that wraps `point`
("package.module:Class.method" or "package.module:function") so the process kills itself right before or right
after that call, then runs the command (`ingest`, `migrate`, ...) through the CLI's own entry point. The test then
looks at what the process left behind, the way an operator would after a crash.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from pipeline.core.settings import Settings
from tests.conftest import REPO

_SCRIPT = textwrap.dedent("""
    import importlib, os, signal, sys

    point, when, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
    module_name, _, attr = point.partition(":")
    owner = importlib.import_module(module_name)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    original, calls = getattr(owner, name), []

    def dying(*args, **kwargs):
        calls.append(1)
        if when == "before" and len(calls) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if when == "after" and len(calls) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, dying)
    from pipeline.cli.main import main
    sys.exit(main(sys.argv[4:]))
""")


def child_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child `newsetl` process use the test's cluster, alias and folders."""
    env = {**os.environ, "NEWSETL_INDEX_ALIAS": settings.index.alias, "NEWSETL_DATA_DIR": str(settings.data_dir),
           "NEWSETL_ENTITIES_CONFIG": str(settings.entities_config), "PYTHONPATH": str(REPO)}
    if not settings.elasticsearch.embedded:
        env["ELASTICSEARCH_URL"] = str(settings.elasticsearch.url)
    return env


def run_killed(point: str, argv: list[str], settings: Settings, *, when: str = "before", nth: int = 1,
               config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `newsetl <argv>` in a child that SIGKILLs itself at the `nth` call of `point`; asserts it died there."""
    extra = ["--config", str(config)] if config else []
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, point, when, str(nth), *extra, *argv],
                          env=child_env(settings), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == -signal.SIGKILL, f"the child did not die at {point}: {proc.returncode}\n{proc.stderr}"
    return proc
