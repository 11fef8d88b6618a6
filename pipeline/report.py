"""Print a run report (report.json) as the same summary `newsetl ingest` prints: python -m pipeline.report FILE."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

from pipeline.cli import print_report


def main(argv: list[str]) -> int:
    """Print each report file given on the command line."""
    console = Console(highlight=False)
    for name in argv:
        report = json.loads(Path(name).read_text(encoding="utf-8"))
        console.print(f"[bold]Partition {report.get('partition')}[/]")
        print_report(report, console)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
