"""Publication date of a news page: the candidate days the page offers, each with where it states it, and the
decision rule between them.

Candidates: what the page states (`stated_dates`: JSON-LD `datePublished`/`dateCreated` of the article,
publication `<meta>` keys, `<time>` elements, the day in the URL path), the date line next to its headline
(`headline_day`), and htmldate's pick over the whole page, attributed to the first place that states it (else
the page's text). `publication_date` arbitrates between them. Functions of an lxml tree and the page's URL: no
network; the only outside input is today's date, the upper bound of a plausible day."""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

import htmldate

# try_date_expr is htmldate's reader of one date expression (not in its __all__; the version is pinned in
# constraints.txt and tests/unit/test_pubdate.py exercises it).
from htmldate.extractors import try_date_expr
from lxml import etree
from lxml.html import HtmlElement

from pipeline.core.dateorder import order_of_locale
from pipeline.core.timestamps import EARLIEST_PUBLICATION

DateSource = Literal["jsonld", "meta", "time", "url"]
# Where a page's own publication date can come from: where the page states it in its markup or URL, the date line
# next to its headline, or only its text.
PAGE_DATE_SOURCES = frozenset(get_args(DateSource)) | {"headline", "text"}

# <meta> names/properties/itemprops that state the publication (not modification) time, most specific first.
PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "datepublished", "article.published",
    "parsely-pub-date", "sailthru.date", "publish-date", "publish_date", "publishdate", "pubdate",
    "dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date", "dcterms.created", "citation_publication_date",
    "date", "og:pubdate",
)
# Keys of PUBLISHED_META that name a date without saying which one (publication, revision, event).
_UNLABELLED_META = frozenset({"date", "dc.date", "dcterms.date"})

# 2021年03月23日 (Chinese, Japanese), 2021년 3월 23일 (Korean), read after NFKC folding of full-width digits.
_CJK_DAY = re.compile(r"((?:19|20)\d\d)\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")
_DATE_ELEMENTS = ("//*[contains(@class, 'date') or contains(@class, 'time') or contains(@class, 'publish')"
                  " or contains(@id, 'date') or contains(@itemprop, 'date')]")
_ISO_DAY = re.compile(r"((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")
# /2019/06/25/, /2019-06-25-, /20190625/ in a URL path; a month-only path (/2019/06/) is not a day.
_URL_DAY = re.compile(r"/((?:19|20)\d\d)[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?=[/_.-]|$)")
# "© 2019", "(c) 2015-2019", "Copyright 2019": the years a copyright line names.
_COPYRIGHT = re.compile(r"(?:©|\(c\)|\bcopyright\b)\s*(?:\d{4}\s*[-–]\s*)?\d{4}", re.IGNORECASE)
# 4. 2. 2022, 01.11.2023 (thin or plain spaces after the dots): a day-first numeric date.
_DOTTED_DAY = re.compile(r"(?<![\d.])(\d{1,2})\.\s*(\d{1,2})\.\s*((?:19|20)\d\d)(?![\d.]\d)")
_URL_MONTH = re.compile(r"/((?:19|20)\d\d)/(0[1-9]|1[0-2])/")
# The headline date line: how many text lines after/before the headline are read, and how long a date line can be
# (on the dev halves of the htmldate and trafilatura sets, 3 to 12 lines after came within 3 of 737 pages).
LINES_AFTER_HEADLINE = 6
LINES_BEFORE_HEADLINE = 2
MAX_DATE_LINE_CHARS = 100
# Word-set Jaccard between a heading and the page's title above which the heading is the article's headline.
MIN_HEADLINE_AGREEMENT = 0.5
# Elements that end a line of text (block-level in HTML rendering), and elements whose text is never read.
_LINE_BLOCKS = frozenset(
    "address article aside blockquote br dd details div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 "
    "h5 h6 header hr li main nav ol p pre section summary table tbody td th thead tr ul".split())
_NOT_TEXT = frozenset("script style noscript template svg select button iframe option".split())
_BYLINE_BLOCKS = ("//*[contains(@class, 'byline') or contains(@id, 'byline') or @rel='author' "
                  "or @itemprop='author' or contains(@class, 'author')]")
# Where a date line turns to the story's history: what follows is a revision day, not the publication day.
_UPDATE_PHRASE = re.compile(
    r"\b(?:updated|last\s+updated|modified|edited|aktualisiert|geändert|mis\s+à\s+jour|modifié|actualizado|"
    r"aggiornato|bijgewerkt)\b", re.IGNORECASE)
# A date expression in a line: ISO (2019-03-12), numeric (12.03.2019, 3/12/19), day before a month name
# (12 March 2019, 1. Februar 2022, 12 de marzo de 2019) or month name before a day (March 12, 2019, Nov. 3rd, 2023).
# The month word is left to the parser to know; the line's other words never reach it.
_DATE_EXPRESSION = re.compile(
    r"(?<!\d)(?:19|20)\d\d-\d{1,2}-\d{1,2}(?!\d)"
    r"|(?<![\d.])\d{1,2}[./-] ?\d{1,2}[./-] ?(?:\d{4}|\d\d)(?![\d])"
    r"|(?<![\d.])\d{1,2}\.? (?:de )?[^\W\d_]{3,}\.?,? (?:de )?\d{4}(?!\d)"
    r"|[^\W\d_]{3,}\.? \d{1,2}(?:st|nd|rd|th)?\.?,? \d{4}(?!\d)")
_WORD = re.compile(r"\w+")
_SLASHED = re.compile(r"(\d{1,2})/ ?(\d{1,2})/ ?(\d{2,4})")
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b")


@dataclass(frozen=True, slots=True)
class StatedDate:
    """A publication day the page states, and where it says so.

    `explicit`: the statement names publication itself (JSON-LD datePublished, article:published_time and the
    other PUBLISHED_META keys, a <time> marked as the publication time), as opposed to an unlabelled <time> or a
    day read from the URL (which is often an issue or a print date, not the day the article went online).
    """

    day: str  # YYYY-MM-DD
    source: DateSource
    explicit: bool = False


def stated_dates(tree: HtmlElement, jsonld: Sequence[tuple[str | None, str | None]], meta: dict[str, list[str]],
                 urls: Sequence[str | None]) -> tuple[StatedDate, ...]:
    """The days the page states, in reading order: the (datePublished, dateCreated) values of each JSON-LD article
    object (`jsonld`), `<meta>` values by lower-cased key (`meta`, PUBLISHED_META order), `<time>` elements, then
    the day in each of `urls` (the page's URL, its canonical URL). One entry per (day, source)."""
    dates: list[StatedDate] = []

    def add(day: str | None, source: DateSource, explicit: bool = False) -> None:
        if not day:
            return
        for i, known in enumerate(dates):
            if (known.day, known.source) == (day, source):
                if explicit and not known.explicit:  # the same statement, now known to name publication
                    dates[i] = StatedDate(day, source, True)
                return
        dates.append(StatedDate(day, source, explicit))

    for published, created in jsonld:
        add(iso_day(published), "jsonld", explicit=True)
        add(iso_day(created), "jsonld")
    for key in PUBLISHED_META:
        for value in meta.get(key, ()):
            add(iso_day(value), "meta", explicit=key not in _UNLABELLED_META)
    for value, marked in _time_elements(tree):
        add(iso_day(value), "time", explicit=marked)
    for candidate in urls:
        add(url_day(candidate), "url")
    return tuple(dates)


def stated_source(dates: Sequence[StatedDate], day: str) -> DateSource | None:
    """Where the page states this publication day, None when only its text does."""
    return next((d.source for d in dates if d.day == day), None)


def publication_date(tree: HtmlElement, url: str | None, dates: Sequence[StatedDate]) -> tuple[str | None, str | None]:
    """The original publication day and where the page gives it, arbitrated between htmldate and the page's
    own statements.

    htmldate weighs every date on the page (it tells publication from modification dates better than taking the
    first stated one: measured in docs/extraction.md); its day is attributed to the first place that states it,
    or to the page's text. The decision rule over that and the stated candidates, in order:
    1. a day the page states explicitly as the publication day in its metadata (JSON-LD datePublished,
       article:published_time) beats a day htmldate took from the URL (often a print-issue day) when they are more
       than a day apart: one day apart is a stated UTC timestamp against the publisher's local day in the URL
       (measured: the URL was right in all 4 such pages of the htmldate set). A day htmldate read from a URL
       that names only a year and month (/2023/10/3-questions/: the slug's number taken as the day) counts as a
       URL day. A <time> marked as published does not
       overrule the URL (a page lists many: comments, related posts). Not a day
       htmldate found in the text: on the Readability pages such days came from the page's own data scripts and
       were right where a stale article:published_time was not (2 of 3 pages; docs/extraction.md);
    2. a day htmldate found only in the text gives way to the day the page marks up as its microdata
       datePublished (`_microdata_day`: the article's visible date line); measured on the htmldate set's dev half,
       3 pages right and 1 wrong (a republished post) of the 4 it changed;
    3. a 1 January htmldate read only from the text is a year-only guess: a full day written in the page in CJK
       notation (2021年03月23日, 2021년 3월 23일), which htmldate does not read, replaces it, as does the
       copyright-line rule (`_is_copyright_year`) refuse it;
    4. a day htmldate found only in the text whose month and day both read either way (11/01/2023) is swapped when
       the page writes the other reading, and not this one, in dotted day-first notation (`_swapped_day`);
    5. when htmldate finds nothing, the first stated day, else a CJK-notation day in a date element of the page.
    The day written in the date line next to the headline (`headline_day`: "Published 12 March 2019" under the
    <h1>) ranks above a day from the URL, the text, a <time> or a <meta>/JSON-LD value that does not name
    publication, and below a JSON-LD/<meta> datePublished: after rules 1-3 it replaces htmldate's day (or fills in
    for none) unless the page states a publication day explicitly in JSON-LD or <meta>. Measured on the dev
    halves (docs/extraction.md): htmldate set 0.918 -> 0.939, trafilatura set 0.870 -> 0.899, no page lost.
    Returns (YYYY-MM-DD or None, source: jsonld | meta | time | url | headline | text | None).
    """
    try:
        found = htmldate.find_date(tree, url=url, original_date=True, extensive_search=True)
    except (ValueError, TypeError, RecursionError):
        found = None
    found = found[:10] if found else None
    source = stated_source(dates, found) if found else None
    explicit = next((d for d in dates if d.explicit and d.source in ("jsonld", "meta")), None)
    from_url = source == "url" or (found and not source and _url_month_only(url) == found[:7])
    if found and from_url and explicit and abs(_days_between(explicit.day, found)) > 1:
        return explicit.day, explicit.source
    if found and not source and found[4:10] == "-01-01":
        written = cjk_day(tree)
        if written and written[:4] == found[:4]:
            return written, "text"
    marked = _microdata_day(tree) if found and not source else None
    if marked and marked != found:
        return marked, "meta"
    headline = None if explicit else headline_day(tree, month_first=_month_first(tree))
    if headline and headline != found:
        return headline, "headline"
    swapped = _swapped_day(tree, found) if found and not source else None
    if swapped:
        return swapped, "text"
    if found and (source or not _is_copyright_year(tree, found)):
        return found, source or "text"
    if dates:
        return dates[0].day, dates[0].source
    written = cjk_day(tree)
    return (written, "text") if written else (None, None)


def _month_first(tree: HtmlElement) -> bool:
    """Whether the page's declared `<html lang>` is a locale whose numeric dates put the month first (CLDR's order
    via pipeline.core.dateorder: en-US, en-PH, ... 3/12/2019); elsewhere, or with no locale, a numeric date is read
    day-first."""
    return order_of_locale(tree.get("lang")) == "MDY"


def _microdata_day(tree: HtmlElement) -> str | None:
    """The day the page marks up as its schema.org microdata `datePublished` (`itemprop="datePublished"` with a
    machine-readable `content` or `datetime`, on any element), when all such statements name one day; else None.

    The statement sits on the article's visible date line (<span itemprop="datePublished" content="2019-10-18T17:08">
    18.10.2019</span>); a day htmldate found only in the text (a render timestamp in an HTML comment, a date in a
    list of other articles) gives way to it.
    """
    days = {iso_day(element.get("content") or element.get("datetime"))
            for element in tree.xpath("//*[@itemprop='datePublished'][@content or @datetime]")}
    return days.pop() if len(days) == 1 and None not in days else None


def _swapped_day(tree: HtmlElement, day: str) -> str | None:
    """The day with month and day swapped when the page writes that reading, and not `day`'s, in dotted day-first
    notation (4. 2. 2022, 01.11.2023), else None.

    A numeric date whose two parts are both 12 or less reads either way ("11/01/2023" in a `<meta name=date>`);
    htmldate picks one order. The dotted form is day-first wherever it is written (German, Scandinavian, Slavic
    usage; DIN 5008), so the page's own dotted statement settles the order. Only for a day htmldate found in the
    text (no stated source): a stated ISO day is never ambiguous.
    """
    year, month, dom = day.split("-")
    if month == dom or int(dom) > 12:
        return None
    swapped = f"{year}-{dom}-{month}"
    written = {_dotted_day(match) for text in tree.xpath("//body//text()") for match in _DOTTED_DAY.finditer(text)}
    return swapped if swapped in written and day not in written else None


def _dotted_day(match: re.Match[str]) -> str | None:
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _url_month_only(url: str | None) -> str | None:
    """'YYYY-MM' of a URL path that names a year and a month but no day (/2023/10/3-questions-for/), else None.

    htmldate reads such a path's slug as the day ("/2023/10/3-fragen" → 3 October): a day the URL never states.
    """
    if not url or url_day(url):
        return None
    match = _URL_MONTH.search(url)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def _days_between(first: str, second: str) -> int:
    """Days from one YYYY-MM-DD day to another."""
    return (date.fromisoformat(second) - date.fromisoformat(first)).days


def _is_copyright_year(tree: HtmlElement, day: str) -> bool:
    """True when `day` is 1 January of a year a copyright line of the page names ("© 2019 Ledger Media").

    htmldate's extensive search falls back to such a line as the first day of that year: a day the page never
    states. Only asked of a day found in the text alone (a day stated in JSON-LD, <meta>, <time> or the URL is
    kept), so what is lost is a 1 January article dated only in its text on a site whose footer names that year.
    """
    if day[4:10] != "-01-01":
        return False
    return any(day[:4] in match.group(0) for text in tree.itertext() for match in _COPYRIGHT.finditer(text))


def iso_day(value: str | None) -> str | None:
    """The YYYY-MM-DD day at the start of an ISO-8601 timestamp, None for anything else."""
    if not value:
        return None
    match = _ISO_DAY.match(value.strip())
    return "-".join(match.groups()) if match else None


def url_day(url: str | None) -> str | None:
    """The day written in a URL path (/2019/06/25/, /20190625/), None when the path holds no full date."""
    match = _URL_DAY.search(url or "")
    return "-".join(match.groups()) if match else None


def cjk_day(tree: HtmlElement) -> str | None:
    """The first full day the page writes in Chinese/Japanese/Korean notation (2021年03月23日, 2021년 3월 23일),
    looked for in elements whose class, id or itemprop names a date first, then in the whole page; None if none.

    htmldate reads only Latin-script patterns and falls back to the year alone (as 1 January) on such pages.
    """
    for element in tree.xpath(_DATE_ELEMENTS):
        day = _first_cjk_day(element.text_content())
        if day:
            return day
    return _first_cjk_day(" ".join(tree.itertext()))


def _first_cjk_day(text: str) -> str | None:
    # NFKC folds full-width digits (２０２１年) to ASCII ones.
    for match in _CJK_DAY.finditer(unicodedata.normalize("NFKC", text)):
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


def _time_elements(tree: HtmlElement) -> Iterator[tuple[str, bool]]:
    """(datetime, marked) of <time> elements marked as the publication time (marked=True), then of the article's
    first <time> (marked=False)."""
    marked = tree.xpath("//time[@datetime][@pubdate or @itemprop='datePublished' or contains(@class, 'publish')"
                        " or contains(@class, 'posted') or contains(@class, 'entry-date')]")
    for element in marked:
        yield element.get("datetime"), True
    for element in tree.xpath("(//article//time[@datetime])[1]"):
        yield element.get("datetime"), False


def headline_day(tree: HtmlElement, *, month_first: bool = False) -> str | None:
    """The day (YYYY-MM-DD) written in the short text lines next to the article's headline (`_headline_element`),
    else in and after its byline block: "Published 12 March 2019", "March 12, 2019 | 10:41", "Von Jana Berg |
    12.03.2019". None when no such line holds a day in the plausible range.

    The line under (or just above) the headline is where an article states its own date to the reader; a date
    further down is a date in the story, a teaser's or a comment's. Lines are the page's text split at block
    elements, nearest first; a line of MAX_DATE_LINE_CHARS or more is prose and is skipped. A line's piece from an
    update phrase on ("· Updated 13 March") is the revision, not the publication, and is not read. Each date
    expression of a line (`_DATE_EXPRESSION`) is read by htmldate's date-expression parser
    (`htmldate.extractors.try_date_expr`, the parser `find_date` applies to every date it weighs: numeric, ISO and
    written dates in English, German, French, Turkish, else dateparser's locales), bounded to
    EARLIEST_PUBLICATION .. the end of today. That parser reads a numeric date that reads either way (11/08/23) day
    first; `month_first` (a page in US English) swaps such a date first.
    """
    lines = _lines_near_headline(tree)
    # Whole days as bounds: the parser memoises its answers by its arguments.
    latest = datetime.combine(date.today(), datetime.max.time())
    earliest = datetime.combine(EARLIEST_PUBLICATION, datetime.min.time())
    for line in lines:
        if len(line) >= MAX_DATE_LINE_CHARS:
            continue
        for expression in _DATE_EXPRESSION.findall(_UPDATE_PHRASE.split(line, maxsplit=1)[0]):
            numeric = _SLASHED.fullmatch(expression)
            if month_first and numeric and int(numeric.group(1)) <= 12 and int(numeric.group(2)) <= 12:
                expression = f"{numeric.group(2)}/{numeric.group(1)}/{numeric.group(3)}"  # the parser reads day first
            try:
                day = try_date_expr(_ORDINAL.sub("", expression), "%Y-%m-%d", True, earliest, latest)
            except (ValueError, TypeError, OverflowError):
                day = None
            if day:
                return day
    return None


def _lines_near_headline(tree: HtmlElement) -> list[str]:
    """The text lines next to the article's headline (`_headline_element`), nearest first: up to
    LINES_AFTER_HEADLINE after it (a standfirst or a caption often stands between the headline and the date
    line), then up to LINES_BEFORE_HEADLINE before it. With no headline, the lines of the page's first byline
    block and the ones after it."""
    anchor = _headline_element(tree)
    if anchor is None:
        anchor = next(iter(tree.xpath(_BYLINE_BLOCKS)), None)
    if anchor is None:
        return []
    heading = anchor.tag in ("h1", "h2")
    before: deque[str] = deque(maxlen=LINES_BEFORE_HEADLINE)
    after: list[str] = []
    inside = False
    passed = False
    buffer: list[str] = []

    def flush() -> None:
        text = " ".join(" ".join(buffer).split())
        buffer.clear()
        if not text:
            return
        if passed:
            after.append(text)
        elif not inside:
            before.append(text)
        elif not heading:
            after.append(text)  # a byline block's own lines are candidates too

    skipping = 0
    for event, element in etree.iterwalk(tree, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if skipping or tag in _NOT_TEXT or not tag:
                skipping += 1
                continue
            if tag in _LINE_BLOCKS:
                flush()
            if element is anchor:
                inside = True
            if element.text:
                buffer.append(element.text)
        else:
            if skipping:
                skipping -= 1
                if not skipping and element.tail:
                    buffer.append(element.tail)  # a comment's or script's tail is text
                continue
            if tag in _LINE_BLOCKS:
                flush()
            if element is anchor:
                flush()
                inside, passed = False, True
            if passed and len(after) >= LINES_AFTER_HEADLINE:
                break
            if element.tail:
                buffer.append(element.tail)
    else:
        flush()
    return after[:LINES_AFTER_HEADLINE] + list(reversed(before))


def _headline_element(tree: HtmlElement) -> HtmlElement | None:
    """The element holding the article's headline: the <h1>/<h2> whose words agree best with the page's title
    (og:title, else <title>; word-set Jaccard of MIN_HEADLINE_AGREEMENT or more, an <h1> before an <h2> at equal
    agreement), else the first <h1> of the <article>, else the page's first <h1>.

    A page's first <h1> is often the site's logo or a section name ("KBS WORLD", "Navigation"), whose neighbours
    are menus, not the article's date line.
    """
    titles = tree.xpath("//meta[@property='og:title']/@content") or tree.xpath("//head/title//text()")
    title = _words(" ".join(titles[:1]))
    best, best_score = None, 0.0
    if title:
        for element in tree.xpath("//h1") + tree.xpath("//h2"):
            words = _words(element.text_content())
            score = len(words & title) / len(words | title) if words else 0.0
            if score > best_score + 1e-9:
                best, best_score = element, score
    if best is not None and best_score >= MIN_HEADLINE_AGREEMENT:
        return best
    headings = tree.xpath("(//article//h1)[1]") or tree.xpath("(//h1)[1]")
    return headings[0] if headings else None


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.casefold()))
