"""Calendar dates mentioned in an article's text, resolved against its publication day (TIMEX-style values).

Pure functions. A mentioned date is only produced for expressions that denote a calendar day, month or year
("June 28, 2019", "on Wednesday", "last month", "in 2009", "two years ago"); durations ("two days", "over a year"),
sets ("every year") and vague references ("recently") match no rule and produce nothing. Values keep their
precision: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import date, timedelta

from dateutil.easter import easter
from dateutil.relativedelta import MO, TH, TU, relativedelta

from pipeline.core.records import DateMention

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}

_MONTH = r"(?P<month>January|February|March|April|May|June|July|August|September|October|November|December" \
         r"|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_WEEKDAY = r"(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
# "Saturday, April 25": the weekday is part of the date expression, the month and day decide its value.
_WEEKDAY_PREFIX = r"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\s*,?\s+)?"
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "several": None, "few": None, "many": None,
}
# Ordinal day numbers as transcribed speech writes them ("March eighth", "the twenty-first of May").
_ORDINAL_DAYS = {word: i for i, word in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(), start=1)}
_ORDINAL_DAYS.update({f"twenty{sep}{word}": 20 + i for word, i in list(_ORDINAL_DAYS.items())[:9] for sep in "- "})
_ORDINAL_DAYS.update({"thirtieth": 30, "thirty-first": 31, "thirty first": 31})
_DAY_WORD = r"(?P<oday>" + "|".join(sorted(_ORDINAL_DAYS, key=len, reverse=True)) + r")"
_COUNT = r"(?P<count>\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
# Not part of a longer number, code or amount ("S-400", "2,019", "$2019", "2019%").
_NB = r"(?<![\w$€£,.\-/])"
_NA = r"(?![\w%/]|,\d|\.\d|-\d)"

# Cues that a sentence talks about the future or the past; the cue nearest to the expression decides which
# "Wednesday" is meant ("said he will attend on Wednesday": the coming one). "would" is no cue: in news it is
# mostly reported speech about the past.
_FUTURE_CUES = re.compile(
    r"\b(?:will|won't|'ll|shall|going to|is to|are to|due to|scheduled|set to|expected to|plans? to|planned|"
    r"planning|upcoming|coming|next|ahead|intends? to|aims? to|tomorrow|expires?|starting|begins?)\b",
    re.IGNORECASE,
)
_PAST_CUES = re.compile(
    r"\b(?:was|were|had|did|said|told|last|ago|yesterday|earlier|met|began|came|went|took|gave|saw|made|held|"
    r"left|sent|won|lost|fell|rose|got|led|spoke|broke|struck|found|brought|bought|sold|paid|ran|became|"
    r"kept|\w+ed)\b",
    re.IGNORECASE,
)


def _clause(text: str, start: int, end: int) -> tuple[str, int]:
    """The sentence around a match and the match's offset in it: where tense cues are read."""
    left = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start), text.rfind("? ", 0, start),
               text.rfind("! ", 0, start))
    right_candidates = [i for i in (text.find(". ", end), text.find("\n", end), text.find("? ", end)) if i != -1]
    right = min(right_candidates) if right_candidates else len(text)
    return text[left + 1: right], start - (left + 1)


# The direction of one date from the parse of its clause (pipeline.enrich.clauses), set by find_dates for the
# text it resolves: a context variable rather than one more argument of every resolver, since only the weekday
# and month resolvers read it.
Direction = Callable[[int, int], "int | None"]
_DIRECTION: ContextVar[Direction | None] = ContextVar("date_direction", default=None)
_DAY_FIRST: ContextVar[bool | None] = ContextVar("date_day_first", default=None)


def _parsed_direction(start: int, end: int) -> int | None:
    """The parse's direction of the date at [start, end), None without a parse or when it cannot tell."""
    direction = _DIRECTION.get()
    return direction(start, end) if direction is not None else None


def _tense(text: str, start: int, end: int) -> int:
    """+1 future, -1 past, 0 unknown: the clause's parse when there is one, else the nearest tense cue in the
    sentence around text[start:end]."""
    direction = _DIRECTION.get()
    if direction is not None:
        decided = direction(start, end)
        if decided is not None:
            return 1 if decided > 0 else -1
    clause, position = _clause(text, start, end)
    cues = [(abs(m.start() - position), 1) for m in _FUTURE_CUES.finditer(clause)]
    cues += [(abs(m.start() - position), -1) for m in _PAST_CUES.finditer(clause)
             if not _FUTURE_CUES.fullmatch(m.group(0))]
    return min(cues)[1] if cues else 0


def _month_number(token: str) -> int:
    return MONTHS[token.lower().rstrip(".")]


def valid_day(year: int, month: int, day: int) -> str | None:
    """'YYYY-MM-DD', or None when no such day exists (31 April)."""
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def shift_months(day: date, months: int) -> tuple[int, int]:
    """(year, month) `months` months after day's month (negative: before)."""
    index = day.year * 12 + (day.month - 1) + months
    return index // 12, index % 12 + 1


CLOSE_DAYS = 92


def nearest_year(dct: date, month: int, day: int | None, tense: Callable[[], int],
                  parsed: Callable[[], int | None] = lambda: None) -> int:
    """Year for a month (and day) written without one: the occurrence the sentence's tense points at,
    else the one nearest the publication date. `tense` is only asked (it may parse) when the year is in doubt."""
    def key(year: int) -> date:
        return date(year, month, min(day or 1, calendar.monthrange(year, month)[1]))

    anchor = dct if day is not None else dct.replace(day=1)  # month precision compares whole months
    candidates = [dct.year - 1, dct.year, dct.year + 1]
    if abs((key(dct.year) - anchor).days) <= CLOSE_DAYS:
        # Close to the publication date the word cues do not move it a year away, nor does a past clause (on the
        # dev part that fixed one date and broke two); a clause the parse reads as ahead does, when the date is
        # more than two weeks gone: "the minister will visit China in March" (in June) is next March.
        if (key(dct.year) - anchor).days < -14 and parsed() == 1:
            return dct.year + 1
        if (key(dct.year) - anchor).days > 0 and parsed() == -2:
            # A simple past verb that the date directly modifies cannot be about a day still ahead: "changed to a
            # calendar year in December" (in October) is last December, "the quarter ended Oct. 31" (on Oct. 27)
            # last year's. (Any past reading was tried: infinitives and passives under a past verb broke more
            # than it fixed on both parts.)
            return dct.year - 1
        return dct.year
    direction = tense()
    if direction > 0:
        return min(y for y in candidates if key(y) >= anchor)
    if direction < 0:
        return max(y for y in candidates if key(y) <= anchor)
    return min(candidates, key=lambda y: abs((key(y) - anchor).days))


Resolver = Callable[[re.Match[str], str, date | None], str | None]


def _day_of(m: re.Match[str]) -> int:
    """The day number of a match, written in digits ("8", "8th") or as an ordinal word ("eighth")."""
    if "oday" in m.re.groupindex and m["oday"]:
        return _ORDINAL_DAYS[m["oday"].lower()]
    return int(m["day"])


def _explicit_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
    return valid_day(int(m["year"]), _month_number(m["month"]), _day_of(m))


def _numeric_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """ISO dates: the pattern has already named year, month and day."""
    return valid_day(int(m["year"]), int(m["month"]), int(m["day"]))


_SLASHED = re.compile(_NB + r"(?P<first>[0-3]?\d)/(?P<second>[0-3]?\d)/(?P<year>(?:19|20)\d{2}|\d{2})" + _NA)


def day_first_of(text: str) -> bool | None:
    """The order of the text's own slashed dates: True when one of them can only be day-first ("15/4/2019"),
    False when one can only be month-first ("4/15/2019"), None when none tells (or they disagree)."""
    orders = set()
    for m in _SLASHED.finditer(text):
        first, second = int(m["first"]), int(m["second"])
        if first > 12 >= second:
            orders.add(True)
        elif second > 12 >= first:
            orders.add(False)
    return orders.pop() if len(orders) == 1 else None


def two_digit_year(digits: str, dct: date | None) -> int | None:
    """'07 -> 2007, '82 -> 1982: the latest year with these last digits not more than ten years after the
    publication year (None without a publication date: the century is unknown)."""
    if len(digits) == 4:
        return int(digits)
    if dct is None:
        return None
    year = (dct.year // 100) * 100 + int(digits)
    return year - 100 if year > dct.year + 10 else year


def _slashed_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """"7/8/07", "15/4/2019": day and month in the order the text (or its source) uses; an order nothing decides
    leaves an ambiguous date out rather than guessing it."""
    year = two_digit_year(m["year"], dct)
    first, second = int(m["first"]), int(m["second"])
    if year is None or not (first and second):
        return None
    if first > 12 or second > 12 or first == second:
        day, month = (first, second) if first > 12 or first == second else (second, first)
        return valid_day(year, month, day)
    day_first = _DAY_FIRST.get()
    if day_first is None:
        day_first = day_first_of(text)
    if day_first is None:
        return None
    day, month = (first, second) if day_first else (second, first)
    return valid_day(year, month, day)


def _apostrophe_year(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """"'82", "in '07": a year by its last two digits ("summer '82" is a season: nothing)."""
    if _names_a_period(text, m.start("expr"), m.end("expr")):
        return None
    year = two_digit_year(m["yy"], dct)
    return None if year is None else f"{year:04d}"


def _month_year(m: re.Match[str], text: str, dct: date | None) -> str | None:
    return f"{int(m['year']):04d}-{_month_number(m['month']):02d}"


def _month_of_relative_year(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    year = dct.year + {"last": -1, "this": 0, "next": 1}[m["mod"]]
    return f"{year:04d}-{_month_number(m['month']):02d}"


def _day_month(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    month, day = _month_number(m["month"]), _day_of(m)
    year = nearest_year(dct, month, day, lambda: _tense(text, m.start(), m.end()),
                         lambda: _parsed_direction(m.start(), m.end()))
    return valid_day(year, month, day)


def _bare_month(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    month = _month_number(m["month"])
    modifier = (m["mod"] or "").lower()
    if m["month"] == "May" and not (m["lead"] or modifier):
        return None
    if modifier == "last":
        year = dct.year if month < dct.month else dct.year - 1
    elif modifier == "next":
        year = dct.year if month > dct.month else dct.year + 1
    elif modifier == "this":
        year = dct.year
    else:
        year = nearest_year(dct, month, None, lambda: _tense(text, *m.span("expr")),
                             lambda: _parsed_direction(*m.span("expr")))
    return f"{year:04d}-{month:02d}"


def _weekday(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    target = WEEKDAYS[m["weekday"].lower()]
    modifier = (m["mod"] or "").lower()
    back = (dct.weekday() - target) % 7      # days back to the most recent such weekday (0 = today)
    forward = (target - dct.weekday()) % 7   # days forward to the next one (0 = today)
    if modifier in ("last", "past"):
        offset = -(back or 7)
    elif modifier in ("next", "coming"):
        offset = forward or 7
    elif modifier == "this":
        offset = target - dct.weekday()  # the one in the publication date's week
    elif back == 0:
        offset = 0  # the publication day's own weekday: that day, whichever way the clause points
    else:
        tense = _tense(text, *m.span("weekday"))
        # News mostly reports what happened: without a future cue, a bare weekday is the most recent one.
        offset = forward if tense > 0 else -back
    return (dct + timedelta(days=offset)).isoformat()


# Named holidays: the day each falls on in a year (TIMEX3 gives a holiday its day value, e.g. "Thanksgiving Day"
# 1999-11-25). Fixed days, Easter by dateutil's computus, and the US federal rules for nth-weekday holidays
# (5 U.S.C. 6103; Election Day: 2 U.S.C. 7, "the Tuesday next after the first Monday in November").
_HOLIDAYS: dict[str, Callable[[int], date]] = {
    "christmas": lambda y: date(y, 12, 25), "christmas day": lambda y: date(y, 12, 25),
    "christmas eve": lambda y: date(y, 12, 24), "boxing day": lambda y: date(y, 12, 26),
    "new year's day": lambda y: date(y, 1, 1), "new year's eve": lambda y: date(y, 12, 31),
    "valentine's day": lambda y: date(y, 2, 14), "halloween": lambda y: date(y, 10, 31),
    "veterans day": lambda y: date(y, 11, 11), "armistice day": lambda y: date(y, 11, 11),
    "easter": easter, "easter sunday": easter, "good friday": lambda y: easter(y) - timedelta(days=2),
    "easter monday": lambda y: easter(y) + timedelta(days=1),
    "thanksgiving": lambda y: date(y, 11, 1) + relativedelta(weekday=TH(+4)),
    "thanksgiving day": lambda y: date(y, 11, 1) + relativedelta(weekday=TH(+4)),
    "labor day": lambda y: date(y, 9, 1) + relativedelta(weekday=MO(+1)),
    "memorial day": lambda y: date(y, 5, 31) + relativedelta(weekday=MO(-1)),
    "election day": lambda y: date(y, 11, 2) + relativedelta(weekday=TU(+1)),
}
# A holiday that can also name a season or a thing ("Christmas shopping", "Easter eggs") counts after a preposition
# only; the "... Day"/"... Eve" names are days wherever they stand.
_HOLIDAY_NAME = (r"(?P<holiday>Christmas(?:\s+(?:Day|Eve))?|Boxing\s+Day|New\s+Year['’]s\s+(?:Day|Eve)"
                 r"|Valentine['’]s\s+Day|Halloween|Veterans['’]?\s+Day|Armistice\s+Day|Easter(?:\s+(?:Sunday|Monday))?"
                 r"|Good\s+Friday|Thanksgiving(?:\s+Day)?|Labor\s+Day|Memorial\s+Day|Election\s+Day)")


def _holiday(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """"Thanksgiving Day", "on Christmas", "Easter 2019": the holiday's day in the year written, else in the year
    the clause points to (as for a month and day without a year)."""
    name = re.sub(r"\s+", " ", m["holiday"].lower().replace("’", "'")).replace("veterans' day", "veterans day")
    day_of = _HOLIDAYS[name]
    compound = name.endswith((" day", " eve")) or name in ("halloween", "good friday", "easter sunday",
                                                            "easter monday")
    if not (compound or m["lead"]) or _HOLIDAY_MODIFIES.match(text, m.end("holiday")):
        return None
    if m["year"]:
        return day_of(int(m["year"])).isoformat()
    if dct is None:
        return None
    this_year = day_of(dct.year)
    year = nearest_year(dct, this_year.month, this_year.day, lambda: _tense(text, *m.span("expr")),
                        lambda: _parsed_direction(*m.span("expr")))
    return day_of(year).isoformat()


# "Christmas shopping", "the Christmas season", "Easter eggs": the holiday qualifies a noun, it is not the day.
_HOLIDAY_MODIFIES = re.compile(r"\s+(?:season|holidays?|period|week|weekend|break|shopping|sales|trees?|eggs?|"
                               r"cards?|parties|party|dinner|lunch|message|address|speech|truce|ceasefire|"
                               r"offensive|bombing|rush|spirit)\b", re.IGNORECASE)

_RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}


# "the people of tomorrow", "the Russia of today": the generic present or future (TimeML PRESENT_REF /
# FUTURE_REF), not a day. "USA Today", "VOA Today": a capitalised "Today" after a capitalised word is a name.
_GENERIC_DAY_BEFORE = re.compile(r"\bof\s+$")
_NAME_BEFORE = re.compile(r"\b[A-Z][\w&'-]*\s+$")


def _relative_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    word = m["word"].lower()
    before = text[max(0, m.start() - 30): m.start()]
    if word in ("today", "tomorrow") and (_GENERIC_DAY_BEFORE.search(before)
                                         or (m["word"] == "Today" and _NAME_BEFORE.search(before))):
        return None
    if word.startswith("the day before"):
        offset = -2
    elif word.startswith("the day after"):
        offset = 2
    else:
        offset = _RELATIVE_DAYS[word]
    return (dct + timedelta(days=offset)).isoformat()


# "the 1988 third quarter", "last year's quarter", "the corresponding period last year", "the first half of 1989":
# the expression denotes a quarter or half (TimeML "1988-Q3", "1989-H1"), which no value of ours can hold; a year
# would be a different, coarser value, so nothing is produced.
# A season is a value of its own too (TIMEX3 "1994-WI", "1982-SU": TimeML annotation guidelines, seasons).
# A year's figure in a comparison ("up from last year's $2.34 billion", "1988's 78 cents") is the figure of the
# same reporting period (a quarter or nine months, TimeML "1988-Q3"), not of the calendar year, as for "a year ago".
_PERIOD_AFTER = re.compile(r"(?:['’]s)?\s+(?:(?:first|second|third|fourth|latest|comparable|fiscal|final|"
                           r"last|same|corresponding)[\s-]+)*(?:quarter|period|half)\b"
                           r"|['’]s\s+(?:[A-Z]{0,2}[$€£]\s?)?\d", re.IGNORECASE)
_PERIOD_BEFORE = re.compile(r"\b(?:quarters?|half|period|nine\s+months|six\s+months|winter|spring|summer|autumn)"
                            r"\s+(?:of\s+)?(?:fiscal\s+)?$"
                            r"|\b(?:the|in|last|this|next|early|late|during)\s+fall\s+(?:of\s+)?$", re.IGNORECASE)


def _names_a_period(text: str, start: int, end: int) -> bool:
    """Whether the year at text[start:end] is part of a quarter, half or reporting period."""
    return bool(_PERIOD_AFTER.match(text, end) or _PERIOD_BEFORE.search(text, max(0, start - 30), start))


def _relative_period(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    step = {"last": -1, "previous": -1, "past": -1, "next": 1, "coming": 1, "this": 0, "current": 0}[
        m["mod"].lower().split()[-1]]
    if m["unit"].lower() == "year" and _names_a_period(text, m.start(), m.end()):
        return None
    if m["unit"].lower() == "year":
        return f"{dct.year + step:04d}"
    year, month = shift_months(dct, step)
    return f"{year:04d}-{month:02d}"


def _same_period_last_year(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """"the same period last year" (a year), "the same month last year" (that month), "the same day last year"."""
    if dct is None:
        return None
    unit = m["unit"].lower()
    if unit == "month":
        return f"{dct.year - 1:04d}-{dct.month:02d}"
    if unit == "day":
        return valid_day(dct.year - 1, dct.month, dct.day)
    return f"{dct.year - 1:04d}"


# "net income of $1.1 million a year ago": in a financial comparison "a year ago" means the same reporting
# period a year earlier (a quarter, TimeML "1988-Q3"), not the calendar year.
_FINANCIAL_COMPARISON = re.compile(r"[$€£%]|\b(?:cents?|percent|compared|versus|from)\b", re.IGNORECASE)


# "rates were lower than a year ago": a state compared with the same period then, not a date; "more than two
# years ago" is a date, approximately.
_COMPARED_WITH_THEN = re.compile(r"\b(?!(?:more|less|fewer|no|longer|earlier|later)\b)[a-z]+\s+than\s+$")


def _ago(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    clause, position = _clause(text, m.start(), m.end())
    if _FINANCIAL_COMPARISON.search(clause[max(0, position - 80): position]):
        return None
    if _COMPARED_WITH_THEN.search(text, max(0, m.start() - 30), m.start()):
        return None
    count_word = m["count"].lower()
    count = int(count_word) if count_word.isdigit() else _NUMBER_WORDS.get(count_word)
    if not count:
        return None
    unit = m["unit"].lower().rstrip("s")
    if unit == "day":
        return (dct - timedelta(days=count)).isoformat()
    if unit == "month":
        year, month = shift_months(dct, -count)
        return f"{year:04d}-{month:02d}"
    return f"{dct.year - count:04d}"


_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}


def _spelled_year(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """"nineteen ninety-one" (transcribed speech) -> 1991; "the year two thousand" -> 2000."""
    if _names_a_period(text, m.start(), m.end()):
        return None
    if m["tens"] is None:
        return "2000"
    return f"19{_TENS[m['tens'].lower()] + (_NUMBER_WORDS[m['unit'].lower()] if m['unit'] else 0):02d}"


def _year(m: re.Match[str], text: str, dct: date | None) -> str | None:
    return None if _names_a_period(text, m.start(), m.end()) else m["year"]


# Ordered from most to least specific; overlapping matches are resolved in favour of the longest, then earliest rule.
_RULES: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(_NB + r"(?P<year>(?:19|20)\d{2})-(?P<month>[01]\d)-(?P<day>[0-3]\d)" + _NA), _numeric_day),
    (_SLASHED, _slashed_day),
    (re.compile(_WEEKDAY_PREFIX + _MONTH + r"\s+" + _DAY + r"\s*,?\s+" + _YEAR + _NA), _explicit_day),
    (re.compile(_NB + _WEEKDAY_PREFIX + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"\s*,?\s+" + _YEAR + _NA), _explicit_day),
    (re.compile(_MONTH + r"\s*,?\s+(?:of\s+)?" + _YEAR + _NA), _month_year),
    (re.compile(_MONTH + r"\s+(?:of\s+)?(?P<mod>last|this|next)\s+year\b"), _month_of_relative_year),
    (re.compile(r"\b" + _WEEKDAY_PREFIX + _MONTH + r"\s+" + _DAY + r"(?!\w|:\d)(?!\s*,?\s+(?:19|20)\d{2})"),
     _day_month),
    (re.compile(_NB + _WEEKDAY_PREFIX + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"\b"), _day_month),
    # Spelled ordinal days of transcribed speech: "March eighth", "the eighth of March, 1998".
    (re.compile(_WEEKDAY_PREFIX + _MONTH + r"\s+(?:the\s+)?(?i:" + _DAY_WORD + r")\s*,?\s+" + _YEAR + _NA),
     _explicit_day),
    (re.compile(r"\bthe\s+(?i:" + _DAY_WORD + r")\s+of\s+" + _MONTH + r"\s*,?\s+" + _YEAR + _NA), _explicit_day),
    (re.compile(_WEEKDAY_PREFIX + _MONTH + r"\s+(?:the\s+)?(?i:" + _DAY_WORD + r")(?![\w-])"
                r"(?!\s*,?\s+(?:19|20)\d{2})"), _day_month),
    (re.compile(r"\bthe\s+(?i:" + _DAY_WORD + r")\s+of\s+" + _MONTH + r"\b(?!\s*,?\s+(?:19|20)\d{2})"), _day_month),
    # The second of two coordinated days shares the first one's month: "April 24 and 25" (the first day is
    # found by the rules above).
    (re.compile(_MONTH + r"\s+[0-3]?\d(?:st|nd|rd|th)?\s+(?:and|or|&)\s+(?P<expr>" + _DAY + r")(?![\w:]|,\d|\.\d)"
                r"(?!\s*,?\s+(?:19|20)\d{2})"), _day_month),
    # "May" is also a verb: as a bare month it needs a preposition or modifier in front.
    (re.compile(r"(?:\b(?P<lead>in|In|of|by|until|since|from|early|late|mid)[\s-]+)?"
                r"(?P<expr>(?:(?P<mod>last|next|this)\s+)?"
                r"(?P<month>January|February|March|April|May|June|July|August|September|October|November"
                r"|December))\b(?!\s+\d)"
                # "the March of the Combatant Mothers", "the March of Dimes": a march, not the month
                r"(?!\s+of\s+(?:the\s+)?[A-Z])"), _bare_month),
    # A weekday with a time of day ("next Friday afternoon", "noon Friday") is resolved to its day (the time of
    # day is below our precision); with "each"/"every" or in the plural ("Monday nights") it is a set, and "the
    # previous Friday" is relative to another date (the reference rules below).
    (re.compile(r"(?<!each )(?<!every )(?<!previous )(?<!following )(?<!the same )"
                r"\b(?:(?P<mod>last|next|this|coming|past)\s+)?" + _WEEKDAY +
                r"\b(?!s\b)(?!\s+(?:nights|mornings|afternoons|evenings)\b)"
                # "Monday and Tuesday nights", "Mondays and Thursdays": one set
                r"(?!\s+(?:and|or)\s+[A-Z][a-z]+days?\s+(?:nights|mornings|afternoons|evenings)\b|\s+(?:and|or)\s+[A-Z][a-z]+days\b)"),
     _weekday),
    (re.compile(r"(?:\b(?P<lead>on|at|by|before|after|until|till|since|over|for|around|from|through|during|of)\s+)?"
                r"(?P<expr>" + _HOLIDAY_NAME + r"(?:\s*,?\s+(?:of\s+)?(?P<year>(?:19|20)\d{2}))?)\b"), _holiday),
    # "yesterday afternoon" is resolved to its day, like a weekday with a time of day (the index keeps days).
    (re.compile(r"\b(?P<word>the day before yesterday|the day after tomorrow|yesterday|today|tomorrow)\b",
                re.IGNORECASE), _relative_day),
    (re.compile(r"(?<!\bthe )(?<!\bthe past )\b(?P<mod>last|next|this|earlier this|later this|previous|current)"
                r"\s+(?P<unit>month|year)\b", re.IGNORECASE), _relative_period),
    (re.compile(r"\b" + _COUNT + r"\s+(?P<unit>days?|months?|years?)\s+ago\b", re.IGNORECASE), _ago),
    (re.compile(r"\bthe\s+same\s+(?P<unit>period|time|month|day)\s+(?:of\s+)?last\s+year\b", re.IGNORECASE),
     _same_period_last_year),
    (re.compile(r"(?:(?<=\bmid-)|(?<=\bpre-)|(?<=\bpost-))" + _YEAR + r"\b"), _year),  # "mid-1990", "post-1959"
    (re.compile(r"\bnineteen[\s-]+(?P<tens>" + "|".join(_TENS) + r")(?:[\s-]+(?P<unit>one|two|three|four|five|six|"
                r"seven|eight|nine))?\b|\bthe\s+year\s+two\s+thousand\b(?!\s+and)", re.IGNORECASE), _spelled_year),
    # "the class of '82", "in '07": a preposition, an apostrophe and two digits ("iLife '11" is a product name,
    # "the '90s" a decade: no value).
    (re.compile(r"\b(?:in|of|since|from|until|by|through|to|and|summer|spring|autumn|fall|winter)\s+"
                r"(?P<expr>['’](?P<yy>\d{2}))(?![\w'’%]|[.,]\d)"), _apostrophe_year),
    (re.compile(r"(?<![\w$€£,.\-/])(?<!No\. )" + _YEAR + r"(?![\w%/]|,\d|\.\d|-\d|\s*(?:percent|people|troops|km|"
                r"miles|tons|tonnes|units|votes|dollars|euros)\b)(?!-(?:19|20)?\d{2}\b)"), _year),
]


# Expressions resolved against another date of the text ("a year earlier", "that day"): the anchor is the last
# date found before them in the same paragraph and at most ANCHOR_CHARS before, else the publication date.
# Farther back, a date belongs to another topic ("Founded in 1950, ... profit rose from a year earlier").
ANCHOR_CHARS = 400
ReferenceResolver = Callable[[re.Match[str], "date | None", "list[DateMention]"], "str | None"]


def _anchor_parts(anchors: list[DateMention], dct: date | None, precision: str,
                  fallback: bool = True) -> date | None:
    """The last anchor at least as precise as `precision` ('year', 'month', 'day') as a date, else the
    publication day (None when `fallback` is False)."""
    needed = {"year": 1, "month": 2, "day": 3}[precision]
    for anchor in reversed(anchors):
        parts = [int(p) for p in anchor.value.split("-")]
        if len(parts) >= needed:
            return date(parts[0], *(parts[1:] + [1, 1])[:2])
    return dct if fallback else None


def _step_of(m: re.Match[str]) -> str | None:
    """The lower-cased step word of whichever phrasing matched (groups step, step2, ...; "year-earlier": before)."""
    for name in ("step", "step2", "step3", "step4", "step5"):
        if name in m.re.groupindex and m[name]:
            return "before" if name == "step4" else m[name].lower()
    return None


def _same_day(m: re.Match[str], dct: date | None, anchors: list[DateMention]) -> str | None:
    # "that day" with no date before it is not a reference to the publication day ("that day has come", "trades
    # made that day"); "later in the day" and "the next day" are, in a news report.
    # "the next morning" likewise needs a date before it: in a report it follows the story's events, not the
    # publication day.
    demonstrative = m[0].lower().startswith("that") and not m.groupdict().get("expr")
    time_of_day = not m[0].lower().endswith("day")
    day = _anchor_parts(anchors, dct, "day", fallback=not (demonstrative or time_of_day))
    if day is None:
        return None
    step = {"previous": -1, "before": -1, "next": 1, "following": 1, "after": 1}.get(_step_of(m), 0)
    return (day + timedelta(days=step)).isoformat()


def _same_weekday(m: re.Match[str], dct: date | None, anchors: list[DateMention]) -> str | None:
    """"the previous Friday", "the following Monday": the nearest such weekday before or after the anchor day."""
    day = _anchor_parts(anchors, dct, "day")
    if day is None:
        return None
    target = WEEKDAYS[m["weekday"].lower()]
    if _step_of(m) == "previous":
        return (day - timedelta(days=(day.weekday() - target) % 7 or 7)).isoformat()
    return (day + timedelta(days=(target - day.weekday()) % 7 or 7)).isoformat()


def _same_month(m: re.Match[str], dct: date | None, anchors: list[DateMention]) -> str | None:
    month = _anchor_parts(anchors, dct, "month", fallback=not m[0].lower().startswith("that"))
    if month is None:
        return None
    step = {"previous": -1, "before": -1, "earlier": -1, "next": 1, "following": 1, "later": 1}.get(_step_of(m), 0)
    year, number = shift_months(month, step)
    return f"{year:04d}-{number:02d}"


def _same_year(m: re.Match[str], dct: date | None, anchors: list[DateMention]) -> str | None:
    year = _anchor_parts(anchors, dct, "year", fallback=not m[0].lower().startswith("that"))
    if m.groupdict().get("expr") or m.groupdict().get("step4"):
        # "for the year", "the year-earlier results": the year being reported on and the one before it, from the
        # publication year whatever date came before
        year = dct
    step = {"previous": -1, "prior": -1, "before": -1, "earlier": -1, "ago": -1, "next": 1, "following": 1,
            "later": 1}.get(_step_of(m), 0)
    clause, position = _clause(m.string, m.start(), m.end())
    comparison = step < 0 and _FINANCIAL_COMPARISON.search(clause[max(0, position - 80): position])
    if year is None or comparison:
        return None  # "up 15% from 4 pence a year earlier": the same reporting period, as for "a year ago"
    return f"{year.year + step:04d}"


_NOT_A_PERIOD_HEAD = r"(?!\s+(?:quarter|period|half|(?:first|second|third|fourth)|nine|six|three))"
_REFERENCE_RULES: list[tuple[re.Pattern[str], ReferenceResolver]] = [
    # "the same day", "that day", "later in the day"; "the next day", "the day before," (not "the day before the
    # vote": that one is relative to an event, not to a date).
    (re.compile(r"\b(?:(?:the|that)\s+(?:very\s+)?same\s+day|that\s+(?:very\s+)?day)\b(?!s|\s+(?:of|when|that|after|before)\b)"
                r"|\b(?:later|earlier)\s+(?:in|that)\s+(?P<expr>the\s+day)\b", re.IGNORECASE), _same_day),
    # "the next morning", "the previous night": the day of it (the time of day is below our precision).
    (re.compile(r"\bthe\s+(?P<step>previous|next|following)\s+(?:day|morning|afternoon|evening|night)\b"
                r"|\bthe\s+day\s+(?P<step2>before|after)(?=\s*[,.;])", re.IGNORECASE), _same_day),
    (re.compile(r"\bthe\s+(?P<step>previous|following)\s+" + _WEEKDAY + r"\b", re.IGNORECASE), _same_weekday),
    (re.compile(r"\b(?:(?:the|that)\s+same\s+month|that\s+month"
                r"|the\s+(?P<step>previous|following|next)\s+month|a\s+month\s+(?P<step2>earlier|later)(?!\s+than\b))\b"
                r"(?!s)", re.IGNORECASE), _same_month),
    (re.compile(r"\b(?:(?:the|that)\s+same\s+year|that\s+year"
                r"|the\s+(?P<step>previous|prior|following)\s+year|the\s+year\s+(?P<step2>before)(?=\s*[,.;)]|\s*$)"
                r"|a\s+year\s+(?P<step3>earlier|later)(?!\s+than\b)|a\s+year\s+(?P<step5>before)(?=\s*[,.;)]|\s*$)"
                r"|(?P<step4>year)-(?:earlier|ago)" + _NOT_A_PERIOD_HEAD + r")\b(?!s|-)", re.IGNORECASE), _same_year),
    # "for the year", "the full year", "the current year": the year being reported on (the anchor's, else the
    # publication year); not "the year before/after/ended ..." nor "the year's" plural or compound uses.
    (re.compile(r"\b(?i:for|of|in|during|over|through)\s+(?P<expr>the\s+(?:full\s+|current\s+|whole\s+|entire\s+)?"
                r"year)\b(?![-'’]|s\b|\s+(?:before|after|earlier|later|ago|to|of(?!\s*[$€£]?\d)|in|when|that|which|"
                r"\d|since|from|and a half|or|two|nineteen))"), _same_year),
]


def _anchors_before(found: list[DateMention], text: str, start: int) -> list[DateMention]:
    """The dates found before `start` in the same paragraph and within ANCHOR_CHARS, in text order."""
    paragraph = text.rfind("\n", 0, start)
    return [d for d in found if d.end <= start and d.start > paragraph and start - d.end <= ANCHOR_CHARS]


def find_dates(text: str, dct: date | None, *, direction: Direction | None = None,
               day_first: bool | None = None) -> list[DateMention]:
    """Every calendar-date expression in text, resolved against the publication day `dct` (None: absolute only).

    `direction(start, end)` (optional, pipeline.enrich.clauses.ClauseDirection) says from the parse whether the
    date at text[start:end] is ahead (+1) or back (-1), None when it cannot tell; it is asked only for bare
    weekdays and months whose year is in doubt. `day_first` is the source's order of slashed dates ("7/8/07");
    None reads it off the text's own unambiguous ones. Reference expressions ("a year earlier", "that day") are
    resolved against the last date found before them (see ANCHOR_CHARS), else against `dct`.
    """
    direction_token = _DIRECTION.set(direction)
    order_token = _DAY_FIRST.set(day_first)
    try:
        found = _find_direct(text, dct)
    finally:
        _DIRECTION.reset(direction_token)
        _DAY_FIRST.reset(order_token)
    return _add_references(text, dct, _with_day_before_after(text, found))


# "the day before last Tuesday's hearing", "the day after June 3": a day next to a date the rules found.
_DAY_BEFORE_AFTER = re.compile(r"\b(?:[Tt]he\s+)?day\s+(?P<step>before|after)\s+$")


def _with_day_before_after(text: str, found: list[DateMention]) -> list[DateMention]:
    """The day-precision mentions preceded by "the day before/after", widened to it and moved by one day."""
    result = []
    for mention in found:
        m = _DAY_BEFORE_AFTER.search(text, max(0, mention.start - 20), mention.start)
        if m and mention.value.count("-") == 2:
            day = date.fromisoformat(mention.value) + timedelta(days=-1 if m["step"] == "before" else 1)
            mention = DateMention(text=text[m.start():mention.end], start=m.start(), end=mention.end,
                                  value=day.isoformat())
        result.append(mention)
    return result


def _add_references(text: str, dct: date | None, found: list[DateMention]) -> list[DateMention]:
    """The reference expressions of text that overlap no date already found, resolved in text order."""
    matches: list[tuple[int, int, re.Match[str], ReferenceResolver]] = []
    for pattern, resolve in _REFERENCE_RULES:
        for match in pattern.finditer(text):
            # "later in the day": the context is matched, the "expr" group (when it took part) is the mention.
            has_expr = "expr" in pattern.groupindex and match["expr"]
            start, end = match.span("expr") if has_expr else match.span()
            matches.append((start, end, match, resolve))
    if not matches:
        return found
    matches.sort(key=lambda c: (c[0], c[0] - c[1]))
    taken = [(d.start, d.end) for d in found]
    added: list[DateMention] = []
    for start, end, match, resolve in matches:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        value = resolve(match, dct, _anchors_before(found, text, start))
        if value is None:
            continue
        taken.append((start, end))
        added.append(DateMention(text=text[start:end], start=start, end=end, value=value))
    return sorted(found + added, key=lambda d: d.start)


# "the week of March 6" denotes a week (TIMEX3 "2000-W10"), "the weekend of ..." a weekend: not the day.
_WEEK_OF = re.compile(r"\bweek(?:end)?\s+of\s+$", re.IGNORECASE)


def _find_direct(text: str, dct: date | None) -> list[DateMention]:
    """The expressions of _RULES: absolute dates and dates relative to the publication day; a day that names its
    week is left out."""
    return [d for d in resolve_matches(text, dct, _RULES)
            if not (d.value.count("-") == 2 and _WEEK_OF.search(text, max(0, d.start - 20), d.start))]


def resolve_matches(text: str, dct: date | None, rules: list[tuple[re.Pattern[str], Resolver]]) -> list[DateMention]:
    """Run the rules (most specific first) over text; of overlapping matches the longest, then the earliest rule
    wins; a match whose resolver returns None is dropped (and frees its span). Also used with the rules built
    from dateparser's locale tables (pipeline.enrich.dates_locale)."""
    candidates: list[tuple[int, int, int, re.Match[str], Resolver]] = []
    for priority, (pattern, resolve) in enumerate(rules):
        # A rule may match context it does not own (a leading preposition); its "expr" group is the mention.
        group = "expr" if "expr" in pattern.groupindex else 0
        for match in pattern.finditer(text):
            start, end = match.span(group)
            candidates.append((start, end, priority, match, resolve))
    # Longest first; among equals the more specific rule; accept a span only if it overlaps nothing taken.
    candidates.sort(key=lambda c: (c[0] - c[1], c[2], c[0]))
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for start, end, _priority, match, resolve in candidates:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        value = resolve(match, text, dct)
        if value is None:
            continue
        taken.append((start, end))
        found.append(DateMention(text=text[start:end], start=start, end=end, value=value))
    return sorted(found, key=lambda d: d.start)


def iter_date_values(mentions: list[DateMention]) -> Iterator[str]:
    """Distinct values in first-mention order, for the `mentioned_dates` facet."""
    seen: set[str] = set()
    for mention in mentions:
        if mention.value not in seen:
            seen.add(mention.value)
            yield mention.value
