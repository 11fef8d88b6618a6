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
from datetime import date, timedelta

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


def _tense(text: str, start: int, end: int) -> int:
    """+1 future, -1 past, 0 unknown: the nearest tense cue in the sentence around text[start:end]."""
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


def nearest_year(dct: date, month: int, day: int | None, tense: int) -> int:
    """Year for a month (and day) written without one: the occurrence the sentence's tense points at,
    else the one nearest the publication date."""
    def key(year: int) -> date:
        return date(year, month, min(day or 1, calendar.monthrange(year, month)[1]))

    anchor = dct if day is not None else dct.replace(day=1)  # month precision compares whole months
    candidates = [dct.year - 1, dct.year, dct.year + 1]
    if abs((key(dct.year) - anchor).days) <= CLOSE_DAYS:
        return dct.year  # close to the publication date: the tense of the sentence cannot move it a year away
    if tense > 0:
        return min(y for y in candidates if key(y) >= anchor)
    if tense < 0:
        return max(y for y in candidates if key(y) <= anchor)
    return min(candidates, key=lambda y: abs((key(y) - anchor).days))


Resolver = Callable[[re.Match[str], str, date | None], str | None]


def _explicit_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
    return valid_day(int(m["year"]), _month_number(m["month"]), int(m["day"]))


def _numeric_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """All-digit dates, ISO or US order: the pattern has already named year, month and day."""
    return valid_day(int(m["year"]), int(m["month"]), int(m["day"]))


_SLASH_DATE = r"(?P<first>[0-3]?\d)/(?P<second>[0-3]?\d)/(?P<year>(?:19|20)\d{2})"


def _slash_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """"15/4/2019" is day-first, "4/15/2019" month-first; an ambiguous "2/5/2019" takes the order the text's other
    numeric dates show (one of them past 12 tells), else the US order English text had before (month first)."""
    first, second = int(m["first"]), int(m["second"])
    day_first = first > 12 if max(first, second) > 12 else _text_is_day_first(text)
    day, month = (first, second) if day_first else (second, first)
    return valid_day(int(m["year"]), month, day)


def _text_is_day_first(text: str) -> bool:
    for other in re.finditer(_NB + _SLASH_DATE + _NA, text):
        if int(other["first"]) > 12 >= int(other["second"]):
            return True
        if int(other["second"]) > 12 >= int(other["first"]):
            return False
    return False


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
    month, day = _month_number(m["month"]), int(m["day"])
    year = nearest_year(dct, month, day, _tense(text, m.start(), m.end()))
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
        year = nearest_year(dct, month, None, _tense(text, m.start(), m.end()))
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
    else:
        tense = _tense(text, m.start(), m.end())
        # News mostly reports what happened: without a future cue, a bare weekday is the most recent one.
        offset = forward if tense > 0 else -back
    return (dct + timedelta(days=offset)).isoformat()


_RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}


def _relative_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    word = m["word"].lower()
    if word.startswith("the day before"):
        offset = -2
    elif word.startswith("the day after"):
        offset = 2
    else:
        offset = _RELATIVE_DAYS[word]
    return (dct + timedelta(days=offset)).isoformat()


def _relative_period(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    step = {"last": -1, "previous": -1, "past": -1, "next": 1, "coming": 1, "this": 0, "current": 0}[
        m["mod"].lower().split()[-1]]
    if m["unit"].lower() == "year":
        return f"{dct.year + step:04d}"
    year, month = shift_months(dct, step)
    return f"{year:04d}-{month:02d}"


# "net income of $1.1 million a year ago": in a financial comparison "a year ago" means the same reporting
# period a year earlier (a quarter, TimeML "1988-Q3"), not the calendar year.
_FINANCIAL_COMPARISON = re.compile(r"[$€£%]|\b(?:cents?|percent|compared|versus|from)\b", re.IGNORECASE)


def _ago(m: re.Match[str], text: str, dct: date | None) -> str | None:
    if dct is None:
        return None
    clause, position = _clause(text, m.start(), m.end())
    if _FINANCIAL_COMPARISON.search(clause[max(0, position - 80): position]):
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


def _year(m: re.Match[str], text: str, dct: date | None) -> str | None:
    return m["year"]


# Ordered from most to least specific; overlapping matches are resolved in favour of the longest, then earliest rule.
_RULES: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(_NB + r"(?P<year>(?:19|20)\d{2})-(?P<month>[01]\d)-(?P<day>[0-3]\d)" + _NA), _numeric_day),
    (re.compile(_NB + _SLASH_DATE + _NA), _slash_day),
    (re.compile(_WEEKDAY_PREFIX + _MONTH + r"\s+" + _DAY + r"\s*,?\s+" + _YEAR + _NA), _explicit_day),
    (re.compile(_NB + _WEEKDAY_PREFIX + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"\s*,?\s+" + _YEAR + _NA), _explicit_day),
    (re.compile(_MONTH + r"\s*,?\s+" + _YEAR + _NA), _month_year),
    (re.compile(_MONTH + r"\s+(?:of\s+)?(?P<mod>last|this|next)\s+year\b"), _month_of_relative_year),
    (re.compile(r"\b" + _WEEKDAY_PREFIX + _MONTH + r"\s+" + _DAY + r"(?!\w|:\d)(?!\s*,?\s+(?:19|20)\d{2})"),
     _day_month),
    (re.compile(_NB + _WEEKDAY_PREFIX + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"\b"), _day_month),
    # "May" is also a verb: as a bare month it needs a preposition or modifier in front.
    (re.compile(r"(?:\b(?P<lead>in|In|of|by|until|since|from|early|late|mid)[\s-]+)?"
                r"(?P<expr>(?:(?P<mod>last|next|this)\s+)?"
                r"(?P<month>January|February|March|April|May|June|July|August|September|October|November"
                r"|December))\b(?!\s+\d)"), _bare_month),
    # A weekday with a time of day ("Thursday evening", "noon Friday") is a TimeML TIME, with "each"/"every" a
    # SET, and "the previous Friday" is relative to another date: none of them is resolved against the DCT.
    (re.compile(r"(?<!each )(?<!every )(?<!previous )(?<!following )(?<!noon )(?<!midnight )(?<!a\.m\. )"
                r"(?<!p\.m\. )\b(?:(?P<mod>last|next|this|coming|past)\s+)?" + _WEEKDAY +
                r"\b(?!\s+(?:nights?|mornings?|afternoons?|evenings?)\b)"), _weekday),
    # "tonight", "this morning", "last night" denote a time of day (TimeML TIME), not a calendar day.
    (re.compile(r"\b(?P<word>the day before yesterday|the day after tomorrow|yesterday|today|tomorrow)\b"
                r"(?!\s+(?:night|morning|afternoon|evening)\b)", re.IGNORECASE), _relative_day),
    (re.compile(r"(?<!\bthe )(?<!\bthe past )\b(?P<mod>last|next|this|earlier this|later this|previous|current)"
                r"\s+(?P<unit>month|year)\b", re.IGNORECASE), _relative_period),
    (re.compile(r"\b" + _COUNT + r"\s+(?P<unit>days?|months?|years?)\s+ago\b", re.IGNORECASE), _ago),
    (re.compile(r"(?<=\bmid-)" + _YEAR + r"\b"), _year),
    (re.compile(r"(?<![\w$€£,.\-/])(?<!No\. )" + _YEAR + r"(?![\w%/]|,\d|\.\d|-\d|\s*(?:percent|people|troops|km|"
                r"miles|tons|tonnes|units|votes|dollars|euros)\b)(?!-(?:19|20)?\d{2}\b)"), _year),
]


def find_dates(text: str, dct: date | None) -> list[DateMention]:
    """Every calendar-date expression in an English text, resolved against the publication day `dct` (None:
    absolute only). Other languages: pipeline.enrich.dates_locale.find_mentioned_dates."""
    return resolve_matches(text, dct, _RULES)


def resolve_matches(text: str, dct: date | None, rules: list[tuple[re.Pattern[str], Resolver]]) -> list[DateMention]:
    """Run the rules (most specific first) over text; of overlapping matches the longest, then the earliest rule
    wins; a match whose resolver returns None is dropped (and frees its span)."""
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
