"""The CLI's rich Console: a reader that goes away (`newsetl search | head -1`) ends the command quietly.

rich's own answer to a broken pipe is `SystemExit(1)`, which made `newsetl search | head -1` fail in a
`set -o pipefail` script although nothing went wrong. Here it raises BrokenPipeError instead, which the command
runner (pipeline/cli/main.py `run_command`) answers like `print` does: stdout pointed at /dev/null, exit 0.
"""

from __future__ import annotations

from rich.console import Console as RichConsole


class Console(RichConsole):
    """rich.console.Console whose broken pipe is a BrokenPipeError for the command runner, not an exit of its own."""

    def on_broken_pipe(self) -> None:
        """Stop writing and let the runner end the command (exit 0, nothing printed)."""
        self.quiet = True
        raise BrokenPipeError("the reader of standard output went away")
