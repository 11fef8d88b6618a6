"""The run report as people read it: the run summary of `newsetl ingest`, or JSON.

`python -m pipeline.cli.report FILE...` prints a report.json (a nightly run's) as the same summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from pipeline.cli.console import Console
from pipeline.core.text import printable, shortened


def print_json(data: Any) -> None:
    """The `--json` form of any command: indented, non-ASCII kept."""
    print(json.dumps(data, ensure_ascii=False, indent=2))


def show_report(report: dict[str, Any], *, as_json: bool) -> None:
    """A run report as JSON or as the readable run summary."""
    if as_json:
        print_json(report)
    else:
        print_report(report, Console(highlight=False))


def print_report(report: dict[str, Any], console: Console) -> None:
    """Human-readable run summary: counts, then each rejection with its reason."""
    console.print(
        f"[bold]Run summary[/]  files {report['files']} · seen {report['seen']} · indexed {report['indexed']} · "
        f"unchanged {report['unchanged']} · rejected {report['rejected']} · undated {report['undated']} · "
        f"warnings {len(report.get('warnings', []))}"
        + (f" · skipped (already processed) {report['skipped']}" if report.get("skipped") else "")
        + (f" · not modified {report['not_modified']}" if report.get("not_modified") else "")
        + (f" · HTTP requests {report['requests']}" if report.get("requests") else "")
        + (f" · quarantined {report['quarantined']}" if report.get("quarantined") else "")
        + (f" · re-read after a concurrent change {report['retried']}" if report.get("retried") else "")
        + (f" · pruned (file gone from its source) {report['pruned']}" if report.get("pruned") else "")
    )
    for name, info in report.get("sources", {}).items():
        if info.get("status") != "ok":
            console.print(f"  [red]source {escape(printable(name))} {info['status']}[/]: "
                          f"{escape(printable(str(info.get('error'))))}")
    # Refs and reasons come from input files: printed as data, never as console markup nor terminal control
    # sequences (a file name with ESC [ ... could recolour, retitle or hide lines of the terminal).
    for item in report["rejections"]:
        line = f"[{item['stage']}] {shortened(item['ref'])}: {item['reason']}"
        console.print(f"  [yellow]rejected[/] {escape(printable(line))}")
    for item in report.get("warnings", []):
        line = f"[{item['stage']}] {shortened(item['ref'])}: {item['message']}"
        console.print(f"  [cyan]warning[/]  {escape(printable(line))}")


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
