"""`newsetl trends`: the facet values that rose in a day (or a window of days) against the 30 days before it."""

from __future__ import annotations

import argparse
from datetime import date

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.cli.console import Console
from pipeline.cli.report import print_json
from pipeline.core.facets import FACETS
from pipeline.core.settings import Settings
from pipeline.core.trends import BASELINE_DAYS, MIN_COUNT, MIN_SCORE, TrendReport

TRENDS_HELP = """\
What is new: for each facet, the values whose share of the day's articles is unusually high against the
30 days before (or against --baseline days). A day is a UTC day of the article's timeline date: its
publication date, else the day it was ingested (so undated articles count on their ingest day).
Without --day: the day of the newest dated article (an archive ingested today is not judged by today's
undated pages), or the newest ingest day when no article is dated.

score  -log10 of the chance of at least that many articles naming the value if it were as frequent as in
       the baseline (binomial upper tail; 3 = one chance in 1,000, 6 = one in a million)
lift   the day's share of articles over the baseline's share
Values are counted by entity id (spellings of one entity count together) and shown by canonical name.
"""


def add_parser(sub: argparse._SubParsersAction, parse_date: object) -> None:
    """Declare `newsetl trends` on the main parser's subcommands (`parse_date`: the YYYY-MM-DD argument type)."""
    p = sub.add_parser("trends", help="what is new: facet values that rose in a day against the 30 days before",
                       description=TRENDS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--facet", dest="facets", action="append", choices=FACETS, default=[], metavar="FACET",
                   help=f"only this facet (repeatable; default: all of {', '.join(FACETS)})")
    p.add_argument("--day", type=parse_date,
                   help="the (last) day, YYYY-MM-DD (default: the day of the newest dated article; when no article "
                        "is dated, the newest ingest day)")
    p.add_argument("--window", type=positive_int, default=1, metavar="N", help="days ending with --day (default 1)")
    p.add_argument("--baseline", type=positive_int, default=BASELINE_DAYS, metavar="N",
                   help=f"days before the window to compare with (default {BASELINE_DAYS})")
    p.add_argument("--min-count", type=positive_int, default=MIN_COUNT, metavar="N",
                   help=f"articles a value needs in the window (default {MIN_COUNT})")
    p.add_argument("--min-score", type=float, default=MIN_SCORE, metavar="S",
                   help=f"lowest score shown (default {MIN_SCORE:g})")
    p.add_argument("--top", type=positive_int, default=10, metavar="N", help="values per facet (default 10)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_trends(args: argparse.Namespace, settings: Settings) -> int:
    """newsetl trends: compute the trends live from the articles of the alias and print them."""
    from pipeline.index.store import Store  # the Elasticsearch client is imported only by commands that need it
    from pipeline.index.trends import compute_trends, default_day

    store = Store.connect(settings)
    default = None if args.day else default_day(store)
    day = args.day or (default[0] if default else None)
    if day is None:
        Console(stderr=True, highlight=False).print(f"no articles in {escape(store.alias)!r} yet: nothing to compare")
        return 0
    report = compute_trends(store, day, window_days=args.window, baseline_days=args.baseline,
                            facets=args.facets or FACETS, min_count=args.min_count, min_score=args.min_score,
                            top=args.top)
    if args.json:
        print_json(report.to_dict())
    else:
        defaulted = None if default is None else ("the newest dated article's day" if default[1]
                                                  else "the newest ingest day: no article is dated")
        print_trends(report, defaulted=defaulted, console=Console(highlight=False))
    return 0


def print_trends(report: TrendReport, *, defaulted: str | None, console: Console) -> None:
    """The readable form: the window and baseline with their article counts (`defaulted`: why this day, when
    --day was not given), then one table per facet."""
    (w0, w1), (b0, b1) = report.window, report.baseline
    span = w0.isoformat() if report.window_days == 1 else f"{w0} .. {date.fromordinal(w1.toordinal() - 1)}"
    console.print(f"[bold]{span}[/]" + (f" ({escape(defaulted)})" if defaulted else "")
                  + f": {report.articles} article(s) against {report.baseline_articles} in the {report.baseline_days}"
                  f" days before ({b0} .. {date.fromordinal(b1.toordinal() - 1)})", soft_wrap=True)
    shown = False
    for facet, trends in report.trends.items():
        if not trends:
            continue
        shown = True
        table = Table(title=facet.replace("_", " "), title_justify="left", box=None)
        for column, justify in (("value", "left"), ("score", "right"), ("articles", "right"),
                                ("baseline", "right"), ("lift", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for t in trends:
            table.add_row(Text(t.value), f"{t.score:.1f}", f"{t.count} ({t.share:.1%})",
                          f"{t.baseline_count} ({t.baseline_share:.2%})", f"×{t.lift:.1f}")
        console.print(table)
    if not shown:
        console.print("nothing rose above the baseline" + ("" if report.articles else " (no articles that day)"))


def positive_int(value: str) -> int:
    """argparse type: a whole number of at least 1 (a count or a size); ArgumentTypeError (exit 2) otherwise."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {number}")
    return number
