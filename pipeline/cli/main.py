"""`newsetl`: ingest files without Airflow, search the index, and the JSONL contracts of extract and enrich."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipeline.cli.console import Console
from pipeline.cli.report import print_json, show_report
from pipeline.cli.trends import add_parser as add_trends_parser
from pipeline.cli.trends import cmd_trends, positive_int
from pipeline.cli.watchlists import add_parser as add_watchlists_parser
from pipeline.cli.watchlists import cmd_watchlists
from pipeline.core.facets import FACET_OF_LABEL
from pipeline.core.settings import Settings, load_settings
from pipeline.core.text import printable, shortened

EXIT_OK, EXIT_INFRA, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
# `server status` when the embedded server is not running: the LSB init-script code for "program is not running"
# (what `systemctl status` answers too), so a script can test it without parsing the text.
EXIT_NOT_RUNNING = 3
# Facet filters of `newsetl search`: entity types, then the article's source and language (pipeline/index/search.py).
FACET_FLAGS = ("person", "org", "place", "norp", "event", "product", "work_of_art", "law", "language_mentioned",
               "misc", "country", "source", "language", "enrichment")

err = Console(stderr=True, highlight=False)

SEARCH_HELP = """\
Full-text search (title boosted, accents folded, light English stemming) with filters on every facet;
repeated filters must all match.

query language (pipeline/search/syntax.py):
  interest rates          both words, anywhere in the title or text (default AND)
  "interest rates"        the phrase: these words, adjacent, in this order
  rates OR prices         either word; OR binds tighter than AND: rates OR prices bank = (rates OR prices) bank
  -england  -"bank of"    exclude a word or a phrase
  title:brexit            only in the title; text: (or body:) only in the text;
  person:"tony blair"     a facet value (person: org: place: source: language: ...), case and accents aside
  infla*                  words starting with "infla" (at least 2 characters before *)
  US  IT  WHO             an ALL-CAPS word ranks the acronym above the ordinary word (us, it, who)
  AT&T  C++  U.S.         words with inner symbols are matched whole
Nothing else is syntax: AND, NOT, ( ), ~, ^, [ ] are searched as words; an unknown field: prefix or an
unclosed quote is an error that says so. The words of QUERY may be given quoted as one argument or as several;
a word starting with a single "-" that is no option of this command is a query word:
  newsetl search -england "interest rates" --place Brazil     (the same as '-england interest rates')
  newsetl search -- '-england "interest rates"'               (after "--" everything is the query)
"""


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="newsetl", description=__doc__)
    parser.add_argument("--config", type=Path, help="settings file (default: config/settings.yml or $NEWSETL_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="run the whole pipeline on sources, files, folders, URLs or WARC files",
                       description="Targets: files and folders (.txt/.html/.jsonl/.warc), a URL-list file (.urls, "
                                   "or a .txt of URLs), a .warc/.warc.gz file, or an http(s) URL of a feed, a "
                                   "sitemap or a page. Without targets: the enabled sources of config/sources.yml.")
    p.add_argument("paths", nargs="*", metavar="TARGET")
    p.add_argument("--source", dest="sources", action="append", default=[], metavar="NAME",
                   help="without targets: a source of config/sources.yml (repeatable; default: every enabled "
                        "source); with targets: the source name of their articles (default: source_name)")
    p.add_argument("--full", action="store_true", help="ignore the ledger: read and fetch everything again")
    p.add_argument("--prune", action="store_true",
                   help="remove the articles of files that disappeared from their folder or WARC source")
    p.add_argument("--json", action="store_true", help="print the run report as JSON")

    p = sub.add_parser("sources", help="the configured sources (config/sources.yml)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("quarantine", help="articles that failed: list, retry or drop them")
    p.add_argument("action", choices=["list", "retry", "drop"])
    p.add_argument("--all", action="store_true", help="drop: every entry (otherwise --source or --stage is needed)")
    p.add_argument("--source", dest="sources", action="append", default=[], metavar="NAME",
                   help="only this source (repeatable)")
    p.add_argument("--stage", choices=["fetch", "read", "clean", "index"], help="only failures at this stage")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("search", help="full-text and faceted search", description=SEARCH_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="*", default=[], metavar="QUERY",
                   help="what to find, in the query language above (several arguments are joined by spaces)")
    facets = p.add_argument_group("facet filters (whole values, case and accents aside; repeatable)")
    for facet in FACET_FLAGS:
        facets.add_argument(f"--{facet.replace('_', '-')}", dest=f"facet_{facet}", action="append", default=[],
                            metavar="VALUE", help="an ISO 3166 code (DE, DEU, UK) or a country's name, common or "
                                                  "official (Germany, United States of America)"
                            if facet == "country" else None)
    dates = p.add_argument_group("date ranges (YYYY-MM-DD, inclusive)")
    dates.add_argument("--from", dest="published_from", type=_parse_date, help="published on or after")
    dates.add_argument("--to", dest="published_to", type=_parse_date, help="published on or before")
    dates.add_argument("--mentioned-from", type=_parse_date, help="mentions a date on or after")
    dates.add_argument("--mentioned-to", type=_parse_date, help="mentions a date on or before")
    p.add_argument("--collapse", action="store_true", help="one hit per story, with how many copies it has")
    p.add_argument("--sort", choices=["relevance", "newest", "oldest"], default="relevance")
    p.add_argument("--page", type=int, default=1, help="page number, from 1")
    p.add_argument("--size", type=int, default=10, help="hits per page (default 10)")
    p.add_argument("--facets", dest="facet_size", type=int, default=5, help="top values shown per facet (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--export", type=Path, metavar="FILE",
                   help="write every hit (not one page) to FILE.csv or FILE.jsonl, facets as columns")

    add_trends_parser(sub, _parse_date)

    p = sub.add_parser("extract", help="HTML -> article fields, JSONL on stdin/stdout")
    p.add_argument("--jsonl", action="store_true", required=True, help='stdin {"id","url","html"} per line')

    p = sub.add_parser("enrich", help="text -> entities and dates, JSONL on stdin/stdout")
    p.add_argument("--jsonl", action="store_true", required=True,
                   help='stdin {"id","text","published","language","date_order"} per line (language optional: '
                        'detected when absent; a locale such as en-GB also gives the order of numeric dates; '
                        'date_order: DMY, MDY or YMD, how "7/8/07" is read, before the locale; another value is '
                        'ignored with a warning)')
    p.add_argument("--across", action="store_true",
                   help="treat the whole input as one corpus: learn the entity registry from every line, then "
                        "resolve every line against it (output starts after the input ends)")

    p = sub.add_parser("places", help="how a place name resolves: candidates, the chosen GeoNames entry and why",
                       description="Resolves NAME as an article would that also names the --context places.")
    p.add_argument("name", help='a place name or demonym ("Paris", "Cambridge, Massachusetts", "German")')
    p.add_argument("--context", action="append", default=[], metavar="PLACE",
                   help="another place the article names (repeatable), e.g. --context Dallas --context Tyler")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("entities", help="the entity registry: list, show, and manual merges and splits",
                       description="list: the registry's entities, most mentioned first; show NAME: an entity's "
                                   "names, counts and why each joined; merge NAME INTO: NAME is another spelling of "
                                   "INTO; split NAME: NAME never joins another name by learning. merge and split "
                                   "are written to the entity rules file (config/entities.yml), win over "
                                   "learning, and are applied at once to the indexed articles that hold an "
                                   "affected name (their entity facets only; --no-apply leaves that to the "
                                   "next run or `newsetl reenrich --registry-changes`).")
    p.add_argument("action", choices=["list", "show", "merge", "split"])
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--label", type=entity_label,
                   help=f"list: only entities with this label, in any case ({', '.join(FACET_OF_LABEL)})")
    p.add_argument("--size", type=positive_int, default=30, help="list: how many, at least 1 (default 30)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--force", action="store_true",
                   help="merge/split: also when a name is not in the registry yet; merge: also when the two have "
                        "different labels")
    p.add_argument("--no-apply", action="store_true",
                   help="merge/split: write the rules file and queue the change; the indexed articles are rewritten "
                        "by the next run or `newsetl reenrich --registry-changes`")

    p = sub.add_parser("reenrich", help="re-run enrichment over indexed articles after a model or entities.yml change")
    p.add_argument("--json", action="store_true", help="print the run report as JSON")
    p.add_argument("--registry-changes", action="store_true",
                   help="only apply the entity registry's pending changes: rewrite the entity facets of the indexed "
                        "articles that hold a name whose value changed (no NER, no text read)")

    p = sub.add_parser("index", help="the index behind the alias: status, migrate to the current mapping, recover "
                                     "from a killed migration")
    p.add_argument("action", choices=["status", "migrate", "recover"])
    p.add_argument("--force", action="store_true",
                   help="recover: also break a lease that has not expired, or lift a block nobody holds a lease for")
    p.add_argument("--rebuild", action="store_true",
                   help="migrate: re-enrich every article instead of copying documents and re-enriching outdated ones")
    p.add_argument("--keep-old", action="store_true", help="migrate: keep the old index (read-only) after the swap")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("kibana", help="import the data views, saved search and dashboards into Kibana",
                       description="Builds the saved objects for the configured alias from code and imports them "
                                   "(overwriting earlier versions) with Elasticsearch's credentials.")
    p.add_argument("action", choices=["import"])
    p.add_argument("--url", help="Kibana's URL (default: $KIBANA_URL)")
    p.add_argument("--space", help="a Kibana space id (default: the default space)")

    p = sub.add_parser("server", help="the embedded Elasticsearch-compatible server (when ELASTICSEARCH_URL is unset)",
                       description="start, stop or show the embedded server. `status` prints its URL and exits 0 "
                                   f"when it runs, else exits {EXIT_NOT_RUNNING} (LSB: not running).")
    p.add_argument("action", choices=["start", "stop", "status"])

    add_watchlists_parser(sub)
    return parser


def entity_label(value: str) -> str:
    """argparse type: an entity label in any case ("person" -> "PERSON"), one of the labels the registry keeps
    (pipeline.core.facets.FACET_OF_LABEL); ArgumentTypeError (exit 2) naming them otherwise."""
    label = value.strip().upper().replace("-", "_").replace(" ", "_")
    if label not in FACET_OF_LABEL:
        raise argparse.ArgumentTypeError(f"unknown label {value!r} (known: {', '.join(FACET_OF_LABEL)})")
    return label


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsetl` console script (`argv` None: the program's own arguments)."""
    code = run_command(argv)
    if code == EXIT_INTERRUPTED and argv is None:
        # Ctrl-C: the summary is printed and every write of the run was acknowledged; what is left is the
        # interpreter's teardown (freeing the NER model and the gazetteer, joining the worker pool's threads), which
        # took seconds. The program ends now; a caller of main([...]) in-process gets the code back instead.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        logging.shutdown()
        os._exit(code)
    return code


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line (`argv` None: the program's own arguments). Raises SystemExit (code 2) on a usage
    error, as argparse does, and SystemExit(0) after --help.

    `search`'s query words are moved behind a `--` first (`query_last`), so a word that starts with "-" (`-england`,
    the query language's NOT) is read as a query word instead of argparse's "unrecognized arguments" error.
    """
    parser = build_parser()
    return parser.parse_args(query_last(list(sys.argv[1:] if argv is None else argv), parser))


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


def _option(parser: argparse.ArgumentParser, token: str) -> argparse.Action | None:
    """The option a token names as argparse reads it: exactly, as `--name=value`, or by a unique prefix of a long
    option (argparse's allow_abbrev); None for a token that names no option."""
    name = token.split("=", 1)[0] if token.startswith("--") else token
    if name in parser._option_string_actions:
        return parser._option_string_actions[name]
    if not token.startswith("--"):
        return None
    found = {action for option, action in parser._option_string_actions.items() if option.startswith(name)}
    return found.pop() if len(found) == 1 else None


def query_last(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`argv` with the query words of a `search` command moved, in their order, behind one `--` at the end.

    A token after `search` is a query word unless it is an option of `search` (`--person`, `--from=...`, a unique
    prefix such as `--pers`, `-h`) or the value an option takes. A single-dash word that is no option (`-england`,
    `-"bank of"`) is therefore a query word; an unknown `--word` is left to argparse, which refuses it (a mistyped
    option must not silently become a search term). Everything after an explicit `--` is query words. Any other
    command's arguments are returned unchanged.
    """
    top, start = parser, 0
    while start < len(argv):  # the command: the first token that is neither a global option nor its value
        token = argv[start]
        action = _option(top, token)
        if action is None:
            break
        start += 1 + (action.nargs is None and "=" not in token)
    if start >= len(argv) or argv[start] != "search":
        return argv
    search = _subparser(parser, "search")
    options: list[str] = []
    words: list[str] = []
    rest = iter(argv[start + 1:])
    for token in rest:
        if token == "--":
            words.extend(rest)
            break
        action = _option(search, token) if token.startswith("-") and token != "-" else None
        if action is None and not token.startswith("--"):
            words.append(token)
            continue
        options.append(token)
        if action is not None and action.nargs is None and "=" not in token:  # an option with a value: take it
            options.extend(islice(rest, 1))
    return [*argv[:start + 1], *options, *(["--", *words] if words else [])]


def run_command(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the command; returns the exit code (errors are printed in one line)."""
    args = parse_arguments(argv)
    from pipeline.core.errors import ConfigError, InfrastructureError, ModelNotInstalled

    try:
        settings = load_settings(args.config)
        handler = {"ingest": cmd_ingest, "search": cmd_search, "extract": cmd_extract, "enrich": cmd_enrich,
                   "reenrich": cmd_reenrich, "index": cmd_index, "server": cmd_server,
                   "sources": cmd_sources, "quarantine": cmd_quarantine, "kibana": cmd_kibana,
                   "places": cmd_places, "entities": cmd_entities, "trends": cmd_trends,
                   "watchlists": cmd_watchlists}[args.command]
        return handler(args, settings)
    except KeyboardInterrupt:
        # Ctrl-C outside an ingest's article loop (start-up, a migration, a search): no traceback. What a command
        # had half-done it cleans up on the way out (a migration drops its partial index and lease).
        err.print("interrupted", soft_wrap=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`newsetl search --json | head`): not an error of ours. Point stdout at /dev/null
        # so that the interpreter's final flush does not raise again (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except InfrastructureError as exc:
        err.print(f"[bold red]error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        return EXIT_INFRA
    # soft_wrap: one line, however narrow the terminal. A configured spaCy model that is not installed is a
    # configuration error (its message says what to install).
    except (FileNotFoundError, ConfigError, ModelNotInstalled) as exc:
        err.print(f"[bold red]error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        return EXIT_USAGE
    except ValueError as exc:  # invalid settings
        err.print(f"[bold red]error:[/] invalid configuration: {escape(printable(str(exc)))}", soft_wrap=True)
        return EXIT_USAGE


# ---------------------------------------------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl ingest [TARGET...] [--source NAME]: the whole pipeline, with progress in a terminal and a summary."""
    from pipeline.collect.config import select_sources
    from pipeline.runners.stream import ingest

    if args.paths and len(args.sources) > 1:
        err.print("[bold red]error:[/] with targets, --source names their one source: give it once")
        return EXIT_USAGE
    if args.paths and args.sources:  # `ingest --source wire file.jsonl`: the files' articles come from "wire"
        settings = settings.model_copy(update={"source_name": args.sources[0]})
    sources = None if args.paths else select_sources(settings, args.sources)
    try:
        if err.is_terminal and not args.json:
            with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True) as progress:
                task = progress.add_task("ingesting (articles read)", total=None)
                report = ingest(args.paths, settings, sources=sources, full=args.full, prune=args.prune,
                                on_progress=lambda done, total: progress.update(task, completed=done, total=total))
        else:
            report = ingest(args.paths, settings, sources=sources, full=args.full, prune=args.prune)
    except KeyboardInterrupt as stop:
        return interrupted(stop, args)
    show_report(report.to_dict(), as_json=args.json)
    # Rejected articles are data (exit 0); a source that could not be read at all is a failed run.
    return EXIT_INFRA if report.failed_sources else EXIT_OK


def interrupted(stop: KeyboardInterrupt, args: argparse.Namespace) -> int:
    """Ctrl-C during `newsetl ingest`: one line on stderr (what is written, what is left, how to resume) and
    exit 130 (128 + SIGINT, the shell's convention). Nothing is marked done that is not written, so running the same
    command again resumes: written articles are found unchanged, the rest is read again
    (pipeline/runners/stream.py `Interrupted`)."""
    done, left = getattr(stop, "done", 0), getattr(stop, "left", 0)
    again = " ".join(["newsetl ingest", *map(str, args.paths), *(f"--source {name}" for name in args.sources),
                      *(flag for flag, on in (("--full", args.full), ("--prune", args.prune)) if on)])
    # "confirmed": a bulk request Elasticsearch accepted just before the Ctrl-C may have written articles whose
    # outcome the run never read; the resumed run finds those unchanged, so nothing is written twice.
    err.print(Text(f"interrupted: {done} article(s) confirmed written, {left} read but not confirmed; `{again}` "
                   f"resumes (articles already written are skipped as unchanged, the rest is read again)"),
              soft_wrap=True)
    return EXIT_INTERRUPTED


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl sources: what config/sources.yml declares."""
    from pipeline.collect.config import load_sources

    sources = load_sources(settings, include_disabled=True)
    if args.json:
        print_json([s.model_dump() for s in sources])
        return EXIT_OK
    table = Table(title=f"Sources ({settings.sources_config})", title_justify="left")
    for column in ("name", "kind", "location", "language", "date order", "enabled", "options"):
        table.add_column(column)
    for s in sources:
        # no declared order: each article's stated locale or language decides (pipeline/core/dateorder.py)
        table.add_row(s.name, s.kind, s.location, s.language or "auto", s.date_order or "by locale",
                      "yes" if s.enabled else "no", json.dumps(s.options) if s.options else "")
    Console(highlight=False).print(table)
    return EXIT_OK


def cmd_quarantine(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl quarantine list|retry|drop: the failed articles, with stage, error and where the raw input is."""
    from pipeline.index.store import Store
    from pipeline.runners.stream import retry_quarantine
    from pipeline.runs.quarantine import drop_quarantine, list_quarantine

    if args.action == "retry":
        report = retry_quarantine(settings, names=args.sources or None, stage=args.stage)
        show_report(report.to_dict(), as_json=args.json)
        return EXIT_OK
    if args.action == "drop":
        if not (args.sources or args.stage or args.all):
            err.print("[bold red]error:[/] quarantine drop needs --source, --stage or --all", soft_wrap=True)
            return EXIT_USAGE
        dropped = drop_quarantine(Store.connect(settings), sources=args.sources or None, stage=args.stage)
        if args.json:
            print_json({"dropped": dropped})
        else:
            what = " and ".join(part for part in (
                f"source {' or '.join(map(repr, args.sources))}" if args.sources else "",
                f"stage {args.stage!r}" if args.stage else "") if part)
            # Nothing to drop is no error (the wanted state holds), but a mistyped source must not look like a drop.
            print(f"dropped {dropped} quarantine entr{'y' if dropped == 1 else 'ies'}"
                  + (f": none is of {what} (`newsetl quarantine list` shows them)" if not dropped and what else ""))
        return EXIT_OK
    total, entries = list_quarantine(Store.connect(settings), sources=args.sources or None,
                                     stage=args.stage)
    if args.json:
        print_json({"total": total, "entries": entries})
        return EXIT_OK
    console = Console(highlight=False)
    if not entries:
        console.print("The quarantine is empty.")
        return EXIT_OK
    table = Table(title=f"Quarantine: {total} failed input(s)", title_justify="left")
    for column in ("source", "stage", "input", "error", "attempts", "last failed"):
        table.add_column(column, overflow="fold")
    for e in entries:
        # Refs and reasons come from the inputs: plain text, never console markup nor terminal control sequences.
        table.add_row(e["source"], e["stage"], Text(printable(shortened(e["ref"]))), Text(printable(e["reason"])),
                      str(e["attempts"]),
                      e["last_failed_at"][:19])
    console.print(table)
    if total > len(entries):
        console.print(f"(newest {len(entries)} of {total} shown)")
    console.print("Retry: newsetl quarantine retry [--source NAME] [--stage STAGE]")
    return EXIT_OK


def cmd_reenrich(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl reenrich: bring every indexed document to the current model and entity rules; with
    --registry-changes, only apply the entity registry's pending changes to the articles they affect."""
    from pipeline.runners.stream import apply_registry_changes, reenrich

    if args.registry_changes:
        done = apply_registry_changes(settings).to_dict()
        if args.json:
            print_json(done)
        else:
            print(f"registry changes applied: {done['changes']}; articles holding an affected name: "
                  f"{done['candidates']}, rewritten: {done['rewritten']}, changed meanwhile: {done['conflicts']}, "
                  f"changes still pending: {done['pending']}")
        return EXIT_OK
    report = reenrich(settings)
    show_report(report.to_dict(), as_json=args.json)
    return EXIT_OK


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl index status|migrate|recover."""
    from pipeline.index.lifecycle import index_status, recover
    from pipeline.index.store import Store
    from pipeline.index.version import version_of
    from pipeline.runners.stream import migrate

    store = Store.connect(settings)
    if args.action == "status":
        status = index_status(store, version_of(settings))
        if args.json:
            print_json(status)
            return EXIT_OK
        console = Console(highlight=False)
        console.print(f"[cyan]{escape(status['alias'])}[/] -> {escape(status['index'])}: {status['documents']} "
                      f"documents, mapping v{status['mapping_version']} (this version writes "
                      f"v{status['code_mapping_version']})")
        for version, docs in status["pipeline_versions"].items():
            mark = " (current)" if version == status["current_pipeline_version"] else ""
            console.print(f"  {docs:>8}  {escape(version)}{mark}")
        print_migration_state(status, console)
        if status["write_blocked"]:
            console.print("[red]not writable[/]: runs fail until the migration ends or is recovered")
        else:
            console.print("[yellow]run `newsetl index migrate`[/]" if status["migrate"] else "[green]up to date[/]")
        return EXIT_OK
    if args.action == "recover":
        done = recover(store, force=args.force)
        if args.json:
            print_json(done)
            return EXIT_OK
        console = Console(highlight=False)
        if not (done["lease"] or done["deleted"] or done["unblocked"]):
            console.print("[green]nothing to recover[/]: no migration lease, no write block")
        for name in done["deleted"]:
            console.print(f"deleted the partial index {escape(name)}")
        for name in done["unblocked"]:
            console.print(f"lifted the write block on {escape(name)}")
        return EXIT_OK
    with err.status("Migrating (searches keep using the old index until the swap) ..."):
        migration, report = migrate(settings, rebuild=args.rebuild, keep_old=args.keep_old, store=store)
    if args.json:
        print_json({"migration": migration.to_dict(), "report": report.to_dict()})
        return EXIT_OK
    console = Console(highlight=False)
    console.print(f"[green]{escape(migration.alias)}[/] now points at [bold]{escape(migration.new_index)}[/] "
                  f"({migration.new_count} documents; {migration.copied} copied, {report.enriched} re-enriched, "
                  f"{report.unchanged} already current); old index {escape(migration.old_index)} "
                  + ("dropped" if migration.old_dropped else "kept, read-only"))
    return EXIT_OK


def print_migration_state(status: dict[str, Any], console: Console) -> None:
    """What a migration holds or left behind, from index_status: lease, write block, indices beside the live one."""
    lease = status.get("lease")
    if lease:
        state = "[red]stale[/] (its holder stopped renewing it: `newsetl index recover`)" if lease["stale"] else "live"
        console.print(f"  migration lease of {escape(lease['owner'])} building {escape(lease['new_index'])}, "
                      f"until {escape(lease['expires_at'])}: {state}")
    if status.get("write_blocked"):
        console.print(f"  [red]writes blocked[/] on {escape(status['index'])}"
                      + ("" if lease else " with no migration lease: `newsetl index recover --force` lifts it"))
    for name, docs in (status.get("other_indices") or {}).items():
        what = "partial index of that migration" if lease and lease["new_index"] == name else "not behind the alias"
        console.print(f"  {escape(name)}: {docs} documents, {what}")


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl search: a table of hits with highlights, then top facet values and paging."""
    from pipeline.enrich.entities import load_entity_config
    from pipeline.index.store import Store
    from pipeline.search.names import with_canonical_names
    from pipeline.search.query import SearchRequest, search

    filters = {facet: tuple(getattr(args, f"facet_{facet}")) for facet in FACET_FLAGS
               if getattr(args, f"facet_{facet}")}
    try:
        request = SearchRequest(
            query=" ".join(args.query) or None, filters=filters, published_from=args.published_from,
            published_to=args.published_to,
            mentioned_from=args.mentioned_from, mentioned_to=args.mentioned_to, page=args.page, size=args.size,
            sort=args.sort, collapse=args.collapse, facet_size=args.facet_size)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {escape(printable(str(exc)))}")
        return EXIT_USAGE
    store = Store.connect(settings)
    # Another spelling of an entity (config/entities.yml, the registry) filters by its canonical name.
    request = with_canonical_names(store, request, load_entity_config(settings.entities_config))
    for line in request.spellings():
        err.print(Text(f"{line} (another spelling of the entity; `newsetl entities show` lists them)"),
                  soft_wrap=True)
    if args.export:
        return export_search(store, request, args.export)
    result = search(store, request)
    if args.json:
        print_json(result.to_dict())
        return EXIT_OK
    print_search_result(result, settings.index.alias, Console(highlight=False))
    return EXIT_OK


def export_search(store: Any, request: Any, path: Path) -> int:
    """newsetl search ... --export FILE: every hit into a CSV or JSON-lines file, a progress bar in a terminal."""
    from pipeline.search.export import export, export_format

    try:
        export_format(path)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return EXIT_USAGE
    if err.is_terminal:
        with Progress(TextColumn("exporting articles"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as progress:
            task = progress.add_task("export", total=None)
            written = export(store, request, path,
                             on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    else:
        written = export(store, request, path)
    err.print(f"exported {written} article(s) to {escape(str(path))}", soft_wrap=True)
    return EXIT_OK


def highlighted(fragment: str) -> Text:
    """A highlight fragment as rich Text: the matched words bold, everything else literal (never markup)."""
    from pipeline.search.query import HIGHLIGHT_POST, HIGHLIGHT_PRE

    text = Text()
    for i, part in enumerate(" ".join(fragment.split()).split(HIGHLIGHT_PRE)):
        matched, _, rest = part.partition(HIGHLIGHT_POST) if i else ("", "", part)
        text.append(matched, style="bold yellow")
        text.append(rest)
    return text


def print_search_result(result: Any, alias: str, console: Console) -> None:
    """The readable form of a SearchResult: summary line, hit table, facet grid, paging hint."""
    unit = "stories" if result.collapsed else "articles"
    console.print(f"[bold]{result.total}[/] article(s), [bold]{result.stories}[/] distinct story(ies) in "
                  f"[cyan]{escape(alias)}[/]" + (f" · page {result.page} of {result.pages} ({unit})"
                                                  if result.pages > 1 else ""))
    if result.hits:
        table = Table(show_lines=True, expand=True)
        table.add_column("#", justify="right", style="dim", no_wrap=True)
        table.add_column("published", no_wrap=True)
        table.add_column("article", ratio=1)
        table.add_column("source", style="cyan", no_wrap=True)
        if result.collapsed:
            table.add_column("copies", justify="right")
        for rank, hit in enumerate(result.hits, start=(result.page - 1) * result.size + 1):
            # Titles, sources, URLs and fragments are indexed input: built as Text, so they never act as markup.
            cell = Text(str(hit.get("title") or "(no title)"), style="bold")
            for fragment in hit.get("highlight", {}).get("body", [])[:2]:
                cell.append("\n… ").append_text(highlighted(fragment)).append(" …")
            if hit.get("url"):
                cell.append("\n" + hit["url"], style="blue")
            row = [str(rank), (hit.get("published_at") or "undated")[:10], cell, Text(str(hit.get("source") or ""))]
            if result.collapsed:
                others = {c.get("source") for c in hit.get("copies_seen_in", [])} - {None}
                row.append(Text(str(hit.get("copies", 1)) + (f"\n{', '.join(sorted(others))}" if others else "")))
            table.add_row(*row)
        console.print(table)
    elif result.total and result.page > result.pages:
        # Matches exist, this page is past them: say so rather than show an empty page as if nothing matched.
        console.print(Text(f"page {result.page} is past the last page ({result.pages}): try --page {result.pages}",
                           style="yellow"))
    for facet, values in result.suggestions.items():
        for value, closest in values.items():
            # Values come from the user and the index: plain Text, never markup.
            console.print(Text(f"No article has {facet.replace('_', ' ')} {value!r}; "
                               + (f"closest existing values: {', '.join(closest)}" if closest
                                  else "no existing value is close"), style="yellow"))
    console.print("[bold]Top facet values[/]")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column()
    rows = [(facet, values) for facet, values in result.facets.items() if values]
    rows.append(("mentioned dates", result.mentioned_dates))
    for facet, values in rows:
        grid.add_row(facet.replace("_", " "), Text(" · ".join(f"{value} ({count})" for value, count in values) or "—"))
    console.print(grid)
    if result.page < result.pages:
        console.print(f"[dim]next page: --page {result.page + 1}[/]")


def _jsonl_records(stream: TextIO) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, the line's JSON object or None, the error of a bad line or None), one per input line.

    A blank line is a bad line too: `extract` and `enrich` answer every input line with one output line, so a
    caller can pair them by position (README, "extract and enrich keep one output line per input line").
    """
    for line_no, line in enumerate(stream, start=1):
        if not line.strip():
            yield line_no, None, f"line {line_no}: empty line, expected a JSON object"
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, None, f"line {line_no}: invalid JSON: {exc}"
            continue
        if not isinstance(record, dict):
            yield line_no, None, f"line {line_no}: expected a JSON object"
            continue
        yield line_no, record, None


def cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    """stdin {"id","url","html"} -> stdout {"id","title","text","published",...}, one line per input line."""
    from pipeline.clean.html import extract_page

    for _line_no, record, error in _jsonl_records(sys.stdin):
        if record is None:
            print(json.dumps({"id": None, "error": error}))
            continue
        html = record.get("html")
        if not isinstance(html, str):
            print(json.dumps({"id": record.get("id"), "error": "missing 'html' string"}))
            continue
        if not html.strip():
            print(json.dumps({"id": record.get("id"), "url": record.get("url"), "error": "empty page"}))
            continue
        page = extract_page(html, url=record.get("url"))
        if page.page_type != "article":
            print(json.dumps({"id": record.get("id"), "url": record.get("url"), "text": "",
                              "page_type": page.page_type, "error": f"not an article: {page.page_type} page"}))
            continue
        if not page.text.strip():
            # The clean stage's reason for the same page (pipeline/clean/article.py).
            print(json.dumps({"id": record.get("id"), "url": record.get("url"), "text": "",
                              "error": "no article text found in the HTML page"}))
            continue
        print(json.dumps({
            "id": record.get("id"), "url": record.get("url"), "title": page.title, "text": page.text,
            "published": page.published, "published_at_source": page.published_source,
            "authors": list(page.authors), "language": page.language, "locale": page.locale,
            "site_name": page.site_name,
            "canonical_url": page.canonical_url, "extractor": page.extractor, "sources": page.sources,
        }, ensure_ascii=False))
    return EXIT_OK


def cmd_enrich(args: argparse.Namespace, settings: Settings) -> int:
    """stdin {"id","text","published","language","date_order"} -> stdout {"id","date_order","language",
    "enrichment","entities":[...],"dates":[...]} in input order; without a `language` the text's is detected
    (pipeline/clean/language.py). `language` may name a country ("en-GB"); numeric dates ("7/8/07") are read in
    `date_order` (DMY/MDY/YMD), else the order of that locale, else of the language when all its countries agree
    (pipeline/core/dateorder.py); the output's `date_order` is the one used (null: none, an ambiguous date is
    left out)."""
    from pipeline.clean.language import resolve_language
    from pipeline.core.dateorder import article_date_order
    from pipeline.core.timestamps import InvalidDate, parse_published
    from pipeline.enrich.annotate import enrich_texts
    from pipeline.enrich.entities import load_entity_config
    from pipeline.enrich.nlp import LanguageModels
    from pipeline.enrich.registry import enrich_across
    from pipeline.index.version import resolver_of

    models = LanguageModels(settings.nlp.models)
    models.check_installed()
    now = datetime.now(UTC)

    def items() -> Iterator[tuple[str, date | None, str | None, str | None, dict[str, Any]]]:
        for _line_no, record, error in _jsonl_records(sys.stdin):
            if record is None or not isinstance(record.get("text"), str):
                # Keep output aligned with input: errors pass through as their own line.
                yield "", None, None, None, {"id": (record or {}).get("id"), "error": error or "missing 'text' string"}
                continue
            stated = record.get("language")
            if stated is not None and not isinstance(stated, str):
                yield "", None, None, None, {"id": record.get("id"),
                                             "error": "'language' must be a string (ISO 639-1, or a locale: en-GB)"}
                continue
            language = resolve_language(stated, record["text"], settings.default_language)
            warnings = []
            try:
                order = article_date_order(record.get("date_order"), [stated], language, None)
            except ValueError as exc:  # as `ingest` reads a JSONL record: ignored with a warning, the line enriched
                warnings.append(f"'date_order' ignored: {exc}")
                order = article_date_order(None, [stated], language, None)
            context: dict[str, Any] = {"id": record.get("id"), "date_order": order}
            day = None
            if record.get("published"):
                try:
                    day = parse_published(str(record["published"]), now).day
                except InvalidDate as exc:
                    warnings.append(str(exc))
            if warnings:
                context["warning"] = "; ".join(warnings)
            yield record["text"], day, language, order, context

    rules = load_entity_config(settings.entities_config)
    enrich = enrich_across if args.across else enrich_texts
    for enrichment, context in enrich(models, items(), batch_size=settings.nlp.batch_size, entity_config=rules,
                                      places=resolver_of(settings)):
        if "error" in context:
            print(json.dumps(context, ensure_ascii=False))
            continue
        print(json.dumps({**context, **enrichment.to_dict()}, ensure_ascii=False))
    return EXIT_OK


def cmd_places(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl places NAME: the candidates of a name with their scores, the chosen entry and the reason."""
    from pipeline.index.version import resolver_of

    resolution = resolver_of(settings).explain(args.name, args.context)
    chosen = resolution.chosen
    if args.json:
        print(json.dumps({
            "name": resolution.name, "context": args.context, "reason": resolution.reason,
            "chosen": dataclasses.asdict(chosen) if chosen else None, "demonym_of": resolution.demonym_of,
            "candidates": [{**dataclasses.asdict(c.place), "score": c.score, "reasons": list(c.reasons)}
                           for c in resolution.candidates],
        }, ensure_ascii=False))
        return EXIT_OK
    console = Console(highlight=False)
    if chosen is not None:
        console.print(f"[bold]{escape(args.name)}[/] → {escape(chosen.name)} ({chosen.kind}, "
                      f"{chosen.country_code or '—'}), GeoNames {chosen.geonames_id}, "
                      f"{chosen.lat:.4f}, {chosen.lon:.4f}")
    else:
        console.print(f"[bold]{escape(args.name)}[/] → unresolved")
    console.print(f"why: {escape(resolution.reason)}")
    if resolution.candidates:
        table = Table("GeoNames id", "name", "kind", "country", "admin1", "score", "reasons", box=None)
        for c in resolution.candidates:
            table.add_row(str(c.place.geonames_id), escape(c.place.name), c.place.kind, c.place.country_code or "—",
                          c.place.admin1 or "—", f"{c.score:,.0f}", escape("; ".join(c.reasons)))
        console.print(table)
    return EXIT_OK


def merge_refusal(name: str, into: str, settings: Settings, *, force: bool) -> str | None:
    """Why `entities merge NAME INTO` should not be written, or None. A name merged into itself is always refused;
    unless `force`, so are a name the registry does not know (a typo would silently become a rule) and two
    entities of different labels (a place merged into a person leaves the place facet). Raises
    InfrastructureError when the registry cannot be read."""
    from pipeline.core.text import strip_accents_casefold
    from pipeline.enrich.entities import load_entity_config
    from pipeline.index.registry import load_registry
    from pipeline.index.store import Store

    if strip_accents_casefold(name.strip()) == strip_accents_casefold(into.strip()):
        return f"cannot merge {name!r} into itself"
    if force:
        return None
    resolution = load_registry(Store.connect(settings)).settle(load_entity_config(settings.entities_config))
    found = {n: resolution.entity(n) for n in (name, into)}
    unknown = [n for n, entity in found.items() if entity is None]
    if unknown:
        return (f"no entity named {' or '.join(map(repr, unknown))} in the registry (`newsetl entities list` shows "
                "them; --force writes the rule anyway)")
    first, second = found[name], found[into]
    assert first is not None and second is not None
    if first.id == second.id:
        return f"{name!r} is already a name of {second.name!r}"
    if first.label != second.label:
        return (f"{name!r} is labelled {first.label} and {into!r} {second.label}: one real entity has one label "
                "(--force merges them anyway)")
    return None


def split_refusal(name: str, settings: Settings, *, force: bool) -> str | None:
    """Why `entities split NAME` should not be written, or None: unless `force`, a name the registry does not know
    (a typo would silently become a rule, as for merge_refusal). Raises InfrastructureError when the registry
    cannot be read."""
    from pipeline.enrich.entities import load_entity_config
    from pipeline.index.registry import load_registry
    from pipeline.index.store import Store

    if force:
        return None
    resolution = load_registry(Store.connect(settings)).settle(load_entity_config(settings.entities_config))
    if resolution.entity(name) is None:
        return (f"no entity named {name!r} in the registry (`newsetl entities list` shows them; --force writes the "
                "rule anyway)")
    return None


def cmd_entities(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl entities list|show|merge|split: the registry as the index knows it, and manual decisions."""
    from dataclasses import asdict

    from pipeline.core.errors import InfrastructureError
    from pipeline.enrich.decisions import record_merge, record_split
    from pipeline.enrich.entities import load_entity_config
    from pipeline.index.registry import load_registry
    from pipeline.index.store import Store
    from pipeline.runners.stream import apply_manual_decision, queue_manual_decision

    wanted = {"list": 0, "show": 1, "merge": 2, "split": 1}[args.action]
    if len(args.names) != wanted:
        usage = {"list": "entities list", "show": "entities show NAME", "merge": "entities merge NAME INTO",
                 "split": "entities split NAME"}[args.action]
        err.print(f"[bold red]error:[/] usage: newsetl {usage}")
        return EXIT_USAGE
    if args.action in ("merge", "split"):
        before = load_entity_config(settings.entities_config)
        refused = (merge_refusal(args.names[0], args.names[1], settings, force=args.force) if args.action == "merge"
                   else split_refusal(args.names[0], settings, force=args.force))
        if refused:
            err.print(f"[bold red]error:[/] {escape(refused)}; nothing written", soft_wrap=True)
            return EXIT_USAGE
        try:  # a later decision takes back what an earlier one said about the same name (pipeline/enrich/decisions.py)
            decision = (record_merge(settings.entities_config, *args.names) if args.action == "merge"
                        else record_split(settings.entities_config, args.names[0]))
        except ValueError as exc:
            err.print(f"[bold red]error:[/] {escape(printable(str(exc)))}; nothing written", soft_wrap=True)
            return EXIT_USAGE
        for note in decision.notes:
            print(note)
        if not decision.written:
            print(f"nothing to write ({settings.entities_config})")
        elif args.action == "merge":
            print(f"{args.names[0]!r} is now a spelling of {decision.config.canonical(args.names[0])!r} "
                  f"({settings.entities_config})")
        else:
            print(f"{args.names[0]!r} no longer joins another name ({settings.entities_config})")
        if args.no_apply:
            # Queued, not applied: the next run's re-canonicalisation (newsetl ingest, the nightly DAG) or
            # `reenrich --registry-changes` rewrites the articles; a run would not queue a change of the rules itself.
            try:
                _after, changed = queue_manual_decision(settings, before)
            except InfrastructureError as exc:
                err.print(f"[bold red]error:[/] the rules file is written, the change is not queued "
                          f"({escape(str(exc))}); once Elasticsearch answers, run `newsetl reenrich`", soft_wrap=True)
                return EXIT_INFRA
            print(f"indexed articles not updated yet: {len(changed)} changed name(s) queued; the next run (newsetl "
                  "ingest, the nightly DAG) or `newsetl reenrich --registry-changes` applies them")
            return EXIT_OK
        try:
            done = apply_manual_decision(settings, before)
        except InfrastructureError as exc:
            err.print(f"[bold red]error:[/] the rules file is written, the indexed articles are not updated "
                      f"({escape(str(exc))}); once Elasticsearch answers, run `newsetl reenrich`", soft_wrap=True)
            return EXIT_INFRA
        print(f"indexed articles updated: {done.rewritten} of {done.candidates} holding an affected name"
              + (f"; {len(done.conflicts)} changed meanwhile, left for `newsetl reenrich --registry-changes`"
                 if done.conflicts else ""))
        return EXIT_OK
    resolution = load_registry(Store.connect(settings)).settle(load_entity_config(settings.entities_config))
    if args.action == "show":
        entity = resolution.entity(args.names[0])
        if entity is None:
            err.print(f"no entity named {args.names[0]!r} in the registry")
            return EXIT_USAGE
        if args.json:
            print_json(asdict(entity))
            return EXIT_OK
        print(f"{entity.name}  ({entity.label}, id {entity.id}, {entity.articles} article mention(s))")
        for name in entity.names:
            print(f"  {name:<40} {resolution.articles.get(name, 0):>6}  {entity.why.get(name, 'its own name')}")
        return EXIT_OK
    entities = sorted((e for e in resolution.entities().values() if not args.label or e.label == args.label),
                      key=lambda e: (-e.articles, e.name))[:args.size]
    if args.json:
        print_json([asdict(e) for e in entities])
        return EXIT_OK
    table = Table("entity", "label", "articles", "names", "id")
    for e in entities:
        table.add_row(escape(e.name), e.label, str(e.articles), str(len(e.names)), e.id)
    Console().print(table)
    return EXIT_OK


def cmd_kibana(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl kibana import: the saved objects for this alias, into Kibana."""
    from pipeline.core.errors import InfrastructureError
    from pipeline.index.embedded import running_url
    from pipeline.index.store import Store
    from pipeline.kibana.importer import import_saved_objects
    from pipeline.kibana.saved_objects import DEFAULT_NEWS_RANGE, build_saved_objects, live_time_range, to_ndjson

    # The overview opens on the dates the indexed articles have (Kibana's default "last 15 minutes" shows none);
    # without a reachable index (an embedded server not started) it opens on the last year.
    news_range = DEFAULT_NEWS_RANGE
    if not settings.elasticsearch.embedded or running_url(settings.embedded_es_dir):
        try:
            news_range = live_time_range(Store.connect(settings)) or DEFAULT_NEWS_RANGE
        except InfrastructureError as exc:
            err.print(f"[yellow]warning:[/] no time range read from the index ({escape(str(exc))}); the overview "
                      f"opens on {' .. '.join(DEFAULT_NEWS_RANGE)}", soft_wrap=True)
    ndjson = to_ndjson(build_saved_objects(settings.index.alias, news_range)).encode("utf-8")
    result = import_saved_objects(settings, ndjson, url=args.url, space=args.space)
    print(f"imported {result.imported} saved object(s) for the alias {settings.index.alias!r}")
    return EXIT_OK


def cmd_server(args: argparse.Namespace, settings: Settings) -> int:
    """Start, stop or show the embedded server."""
    from pipeline.index.embedded import ensure_embedded_server, running_url, stop_embedded_server

    if not settings.elasticsearch.embedded:
        err.print("ELASTICSEARCH_URL is set: the embedded server is not used.")
        return EXIT_OK
    data_dir = settings.embedded_es_dir
    if args.action == "start":
        print(ensure_embedded_server(data_dir))
    elif args.action == "stop":
        if not (data_dir.exists() and running_url(data_dir)):
            print(f"not running: nothing to stop (data folder {data_dir})")
            return EXIT_OK  # the wanted state already holds, as `systemctl stop` of a stopped unit
        stop_embedded_server(data_dir)
        print(f"stopped (data kept in {data_dir})")
    else:
        url = running_url(data_dir) if data_dir.exists() else None
        print(url or f"not running (data folder {data_dir})")
        return EXIT_OK if url else EXIT_NOT_RUNNING
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
