"""`newsetl watchlists list|run NAME`: the watchlists of config/watchlists.yml, their state, and a run by hand."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.cli.console import Console
from pipeline.cli.report import print_json
from pipeline.core.settings import Settings
from pipeline.core.text import printable

EXIT_OK, EXIT_USAGE = 0, 2

DESCRIPTION = """\
list: every watchlist (name, query, filters, notification targets), its last run, its high-water mark and how many
alerts it has recorded. run NAME: run one watchlist now over the articles indexed since its last run (the DAG
news_watchlists does this after every index update), record its matches in <alias>-alerts and notify its targets.
Webhook URLs and SMTP credentials come from Airflow connections (outside Airflow: AIRFLOW_CONN_<ID>) or
environment variables named in the file, never from the file itself."""


def add_parser(sub: Any) -> None:
    """Add the `watchlists` subcommand to the `newsetl` parser."""
    p = sub.add_parser("watchlists", help="saved searches that alert: list them, run one",
                       description=DESCRIPTION)
    p.add_argument("action", choices=["list", "run"])
    p.add_argument("name", nargs="?", help="run: the watchlist's name")
    p.add_argument("--since", metavar="WHEN",
                   help="run: search articles ingested since WHEN (YYYY-MM-DD, an ISO date-time, or 36h / 7d "
                        "back from now) instead of since the last run")
    p.add_argument("--dry-run", action="store_true",
                   help="run: show the matches only; record nothing, notify nobody, keep the high-water mark")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_watchlists(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl watchlists list|run NAME [--since WHEN] [--dry-run]."""
    from pipeline.index.store import Store
    from pipeline.search.notify import Notifier
    from pipeline.search.watchlists import load_watchlists, parse_since, run_configured

    watchlists = load_watchlists(settings.watchlists_config)
    if args.action == "list":
        if args.name or args.since or args.dry_run:
            Console(stderr=True).print("[bold red]error:[/] list takes no NAME, --since or --dry-run")
            return EXIT_USAGE
        return _list(watchlists, Store.connect(settings), settings, as_json=args.json)
    if not args.name:
        Console(stderr=True).print("[bold red]error:[/] run needs the NAME of a watchlist")
        return EXIT_USAGE
    now = datetime.now(UTC)
    try:
        since = parse_since(args.since, now) if args.since else None
    except ValueError as exc:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return EXIT_USAGE
    run = run_configured(settings, args.name, Notifier(), now=now, since=since, dry_run=args.dry_run)
    if args.json:
        print_json(run.to_dict())
        return EXIT_OK
    console = Console(highlight=False)
    window = f"ingested {run.to_dict()['since']} .. {run.to_dict()['until'] or '(no articles)'}"
    console.print(f"[cyan]{escape(run.watchlist)}[/]: {len(run.matches)} match(es) among articles {window}"
                  + (" (dry run: nothing recorded or sent)" if run.dry_run else f", {run.new} new"))
    for article in run.matches:
        console.print(Text(f"  {printable(article.get('title') or '(no title)')}  "
                           f"{article.get('published_at') or 'undated'}  {printable(article.get('url') or '')}"))
    for target, count in run.notified.items():
        console.print(f"  notified {escape(target)}: {count} alert(s)")
    return EXIT_OK


def _list(watchlists: list[Any], store: Any, settings: Settings, *, as_json: bool) -> int:
    from pipeline.runs.alerts import alert_counts, read_states

    states = read_states(store, [w.name for w in watchlists])
    counts = alert_counts(store)
    rows = []
    for w in watchlists:
        state = states[w.name]
        alerts, owed = counts.get(w.name, (0, 0))
        rows.append({**w.summary(),
                     "last_run_at": state.last_run_at.isoformat() if state.last_run_at else None,
                     "high_water_mark": state.high_water_mark.isoformat() if state.high_water_mark else None,
                     "last_matches": state.last_matches, "alerts": alerts, "pending": owed})
    if as_json:
        print_json(rows)
        return EXIT_OK
    console = Console(highlight=False)
    if not rows:
        console.print(f"No watchlists in {settings.watchlists_config}.")
        return EXIT_OK
    table = Table(title=f"Watchlists ({settings.watchlists_config})", title_justify="left")
    for column in ("name", "query", "filters", "notify", "last run", "matches", "alerts (pending)"):
        table.add_column(column, overflow="fold")
    for row in rows:
        filters = "; ".join(f"{facet}: {', '.join(values)}" for facet, values in row["filters"].items())
        table.add_row(row["name"], Text(row["query"] or ""), Text(filters), Text("\n".join(row["notify"]) or "-"),
                      (row["last_run_at"] or "never")[:19], str(row["last_matches"]),
                      f"{row['alerts']} ({row['pending']})")
    console.print(table)
    return EXIT_OK
