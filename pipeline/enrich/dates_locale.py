"""Mentioned dates in languages other than English, read with dateparser's locale data (200+ locales).

dateparser's own search reads durations and bare numbers as dates, so it is not used to find expressions; its
locale tables give the words: month and weekday names, the day/month order of numeric dates, relative words
("hier", "la semaine dernière", "vor drei Tagen"). The resolution is the English rules' (pipeline.enrich.dates):
values at their precision (YYYY, YYYY-MM, YYYY-MM-DD) against the publication day, the year of "le 14 juillet"
from the sentence's tense when it is far from the publication date. Weeks, times of day ("hier soir") and
durations give nothing, as in English.

Per-language additions live in LANGUAGE_EXTRAS: tense cues and the words that make a bare month a date ("en mai",
"im Mai"); a language without them gets explicit dates, numeric dates and relative words only (a bare weekday or a
bare month is too ambiguous without them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from dateparser.languages.loader import default_loader

from pipeline.core.records import DateMention
from pipeline.enrich.dates import (
    CLOSE_DAYS,
    Direction,
    Resolver,
    find_dates,
    nearest_year,
    resolve_matches,
    shift_months,
    two_digit_year,
    valid_day,
)

MONTH_KEYS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december")
WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNITS = {"day": "day", "month": "month", "year": "year"}  # relative words in weeks, hours... are not calendar dates
_APOSTROPHE = "['’]"


@dataclass(frozen=True)
class LanguageExtras:
    """What dateparser's tables do not say about a language's news prose."""

    future_cues: str = ""  # regex alternatives: the sentence speaks of the future ("sera", "prochain")
    past_cues: str = ""
    month_leads: str = ""  # words before a bare month that make it a date ("en mai", "début juin")
    next_words: str = ""  # after a weekday or month: the next one ("mardi prochain")
    last_words: str = ""  # the last one ("vendredi dernier")
    time_of_day: str = ""  # after a weekday or relative day it makes a time, not a day ("hier soir")
    not_before_weekday: str = ""  # "chaque lundi", "tous les lundis": a set, not a date
    number_words: tuple[tuple[str, int], ...] = ()
    relative_words: tuple[tuple[str, str], ...] = ()  # plain phrase -> dateparser's relative key, beyond its tables
    no_year_after: str = ""  # words after a four-digit number that make it an amount, not a year
    weekday_suffix: str = "s?"  # endings a weekday may take and stay one day ("les lundis" is caught before)


LANGUAGE_EXTRAS: dict[str, LanguageExtras] = {
    "fr": LanguageExtras(
        # The conditional (-rait, -raient) is reported speech about what was to come ("entreraient en vigueur").
        future_cues=r"sera|seront|serai|aura|auront|va|vont|doit|doivent|devra|devront|prochaine?s?|demain|"
                    r"bientôt|jusqu['’]à|jusqu['’]au|d['’]ici|prévue?s?|à venir|"
                    r"\w+(?:era|eront|ira|iront|rai|rait|raient)",
        past_cues=r"a|ont|avait|avaient|était|étaient|fut|furent|derni(?:er|ère)s?|hier|passée?s?|\w+(?:é|ée|és|ées)",
        month_leads=r"en|début|fin|mi-|courant|depuis|jusqu['’]en|d['’]ici|dès|à partir de|à partir d['’]",
        next_words=r"prochaine?",
        last_words=r"derni(?:er|ère)|passée?",
        time_of_day=r"soirs?|matins?|après-midi|midi|minuit|nuit|dans la (?:soirée|matinée|nuit)",
        not_before_weekday=r"chaque|tous les|les",
        number_words=(("un", 1), ("une", 1), ("deux", 2), ("trois", 3), ("quatre", 4), ("cinq", 5), ("six", 6),
                      ("sept", 7), ("huit", 8), ("neuf", 9), ("dix", 10), ("onze", 11), ("douze", 12)),
        relative_words=(("l'an dernier", "1 year ago"), ("l'an passé", "1 year ago"),
                        ("l'année passée", "1 year ago"), ("l'an prochain", "in 1 year"),
                        ("cette année", "0 year ago"), ("le mois passé", "1 month ago")),
        no_year_after=r"%|€|\$|euros?|dollars?|personnes|salariés|emplois|postes|habitants|mètres|km|kilomètres|"
                      r"tonnes|voix|véhicules|exemplaires|logements|élèves|agents|soldats|morts|victimes",
    ),
    "de": LanguageExtras(
        # German puts "next"/"last" before the weekday ("am kommenden Dienstag", "vergangenen Freitag"): they
        # are the nearest cue, so they sit among the tense cues. Perfect and preterite auxiliaries and lower-case
        # participles (ge...t, ge...en; nouns are capitalised) mark the past; werden, sollen, "bis" the future.
        # Without a cue a bare weekday is the most recent one, as in English and French.
        future_cues=r"wird|werden|wirst|soll|sollen|will|wollen|kommende[nmrs]?|nächste[nmrs]?|morgen|bald|"
                    r"geplant|vorgesehen|bis",
        past_cues=r"hat|haben|hatte|hatten|war|waren|wurde|wurden|vergangene[nmrs]?|letzte[nmrs]?|vorige[nmrs]?|"
                  r"gestern|(?-i:ge(?!gen\b)\w+(?:t|en))",
        month_leads=r"im|Anfang|Ende|Mitte|seit|bis|ab",
        # "jeden Dienstag" is a set of days, not a date; "dienstags" (every Tuesday) is never a day.
        not_before_weekday=r"jeden|immer",
        weekday_suffix="",
        number_words=(("einem", 1), ("einer", 1), ("zwei", 2), ("drei", 3), ("vier", 4), ("fünf", 5),
                      ("sechs", 6), ("sieben", 7), ("acht", 8), ("neun", 9), ("zehn", 10), ("elf", 11),
                      ("zwölf", 12)),
        time_of_day=r"Abend|Morgen|Nachmittag|Vormittag|Mittag|Nacht|abend|morgen|nachmittag|früh",
        no_year_after=r"%|€|\$|Euro|Dollar|Menschen|Personen|Mitarbeiter|Einwohner|Meter|km|Kilometer|Tonnen|"
                      r"Stimmen|Stück|Wohnungen|Schüler",
    ),
}


def find_mentioned_dates(text: str, dct: date | None, language: str | None, *,
                         direction: Direction | None = None, day_first: bool | None = None) -> list[DateMention]:
    """Calendar-date expressions in text in its language, resolved against the publication day `dct`.

    English (or an unknown language): pipeline.enrich.dates' rules, with `direction` (the clause parse, see
    pipeline.enrich.clauses) for bare weekdays and months and `day_first` (the article's order of numeric dates,
    pipeline.core.dateorder) for "7/8/07". A language dateparser has tables for: the rules built from them here,
    numeric dates in `day_first`'s order, else in the language's own (dateparser's `date_order`). Any other
    language: ISO dates (2019-03-05) only, never English month names.
    """
    if language in (None, "en"):
        return find_dates(text, dct, direction=direction, day_first=day_first)
    return resolve_matches(text, dct, _rules(language, day_first))


def _locale_info(language: str) -> dict[str, Any] | None:
    try:
        return default_loader.get_locale(language).info
    except (KeyError, ValueError):
        return None


def _alternatives(words: list[str]) -> str:
    """A regex alternation, longest first, apostrophes either way."""
    unique = sorted({w for w in words if w}, key=len, reverse=True)
    return "|".join(re.sub("['’]", lambda _: _APOSTROPHE, re.escape(w)) for w in unique)


def _names(info: dict[str, Any], keys: tuple[str, ...], *, min_len: int) -> dict[str, int]:
    """Name -> 1-based number for months or weekdays (0-based for weekdays is applied by the caller); forms
    shared by two keys (French "mar": mars? mardi?) and forms shorter than min_len (unless they end in '.', which
    the caller allows for abbreviations) are left out."""
    seen: dict[str, set[int]] = {}
    for number, key in enumerate(keys, start=1):
        for form in info.get(key) or []:
            seen.setdefault(form.lower(), set()).add(number)
    return {form: numbers.pop() for form, numbers in seen.items() if len(numbers) == 1 and len(form) >= min_len}


@lru_cache(maxsize=64)
def _rules(language: str, day_first: bool | None = None) -> list[tuple[re.Pattern[str], Resolver]]:
    """The language's rules, most specific first (built once per language, order and process)."""
    iso = [(re.compile(r"(?<![\w/.\-])(?P<year>(?:19|20)\d{2})-(?P<month>[01]\d)-(?P<day>[0-3]\d)(?![\w/]|-\d)"),
            _numeric)]
    info = _locale_info(language)
    if info is None:
        return iso
    extras = LANGUAGE_EXTRAS.get(language, LanguageExtras())
    flags = re.IGNORECASE
    months = _names(info, MONTH_KEYS, min_len=3)
    # Full month names, and abbreviations only with their period ("janv.", "Sept."): a bare "jan" is a name.
    full = [m for m in months if len(m) >= 4 or not any(len(o) > len(m) and months[o] == months[m] for o in months)]
    abbreviations = [m + "." for m in months if m not in full]
    month_re = rf"(?P<month>{_alternatives(full + abbreviations)})"
    month_of = {**{m: n for m, n in months.items()}, **{m + ".": months[m] for m in months}}
    weekdays = {form: n - 1 for form, n in _names(info, WEEKDAY_KEYS, min_len=5).items()}
    order = {True: "DMY", False: "MDY"}.get(day_first) or str(info.get("date_order") or "DMY")
    year_re = r"(?P<year>(?:19|20)\d{2})"
    day_re = r"(?P<day>[0-3]?\d)(?:er|e|\.|º)?"
    nb = r"(?<![\w$€£,.\-/])"
    na = r"(?![\w%/]|,\d|\.\d|-\d)"

    def month_number(m: re.Match[str]) -> int:
        return month_of[m["month"].lower()]

    def tense(text: str, start: int) -> int:
        return _tense(text, start, extras)

    def explicit_day(m: re.Match[str], text: str, dct: date | None) -> str | None:
        return valid_day(int(m["year"]), month_number(m), int(m["day"]))

    def month_year(m: re.Match[str], text: str, dct: date | None) -> str | None:
        return f"{int(m['year']):04d}-{month_number(m):02d}"

    def day_month(m: re.Match[str], text: str, dct: date | None) -> str | None:
        if dct is None:
            return None
        month, day = month_number(m), int(m["day"])
        return valid_day(nearest_year(dct, month, day, lambda: tense(text, m.start())), month, day)

    def bare_month(m: re.Match[str], text: str, dct: date | None) -> str | None:
        if dct is None:
            return None
        month = month_number(m)
        modifier = _modifier(m, extras)
        if modifier < 0:
            year = dct.year if month < dct.month else dct.year - 1
        elif modifier > 0:
            year = dct.year if month > dct.month else dct.year + 1
        else:
            year = nearest_year(dct, month, None, lambda: tense(text, m.start()))
        return f"{year:04d}-{month:02d}"

    def weekday(m: re.Match[str], text: str, dct: date | None) -> str | None:
        if dct is None:
            return None
        target = weekdays[m["weekday"].lower()]
        back, forward = (dct.weekday() - target) % 7, (target - dct.weekday()) % 7
        modifier = _modifier(m, extras)
        if modifier < 0:
            offset = -(back or 7)
        elif modifier > 0:
            offset = forward or 7
        else:
            # As in English: without a future cue a bare weekday in news is the most recent one.
            offset = forward if tense(text, m.start()) > 0 else -back
        return (dct + timedelta(days=offset)).isoformat()

    rules: list[tuple[re.Pattern[str], Resolver]] = list(iso)
    first, second = ("day", "month") if order.index("D") < order.index("M") else ("month", "day")
    if "Y" in order and order.index("Y") == 2:
        rules.append((re.compile(nb + rf"(?P<{first}>[0-3]?\d)(?P<sep>[./])(?P<{second}>[01]?\d)(?P=sep)"
                                 + year_re + na), _numeric))
        if day_first is not None:
            # "7/8/07", "7.8.07": a two-digit year only in an order the article or its source states (or its
            # language's countries all share, pipeline.core.dateorder), as English reads them; dateparser's
            # default order of a language alone is not enough to read so short a date.
            rules.append((re.compile(nb + rf"(?P<{first}>[0-3]?\d)(?P<sep>[./])(?P<{second}>[01]?\d)(?P=sep)"
                                     r"(?P<yy>\d{2})" + na), _numeric_short))
    weekday_prefix = (rf"(?:(?:{_alternatives(list(weekdays))})\s*,?\s+)?" if weekdays else "")
    rules += [
        (re.compile(nb + weekday_prefix + day_re + r"\s+" + month_re + r"\s*,?\s+" + year_re + na, flags),
         explicit_day),
        (re.compile(r"(?<!\w)" + month_re + r"\s+" + year_re + na, flags), month_year),
        (re.compile(nb + weekday_prefix + day_re + r"\s+" + month_re + r"(?!\w)(?!\s*,?\s+(?:19|20)\d{2})", flags),
         day_month),
    ]
    modifiers = "|".join(w for w in (extras.next_words, extras.last_words) if w)
    if extras.month_leads:
        rules.append((re.compile(rf"(?<!\w)(?:{extras.month_leads})[\s-]*(?P<expr>{month_re}"
                                 + (rf"(?:\s+(?P<mod>{modifiers}))?" if modifiers else "") + r")(?!\w)(?!\s+\d)",
                                 flags), bare_month))
    if weekdays and extras.future_cues:
        not_before = "".join(rf"(?<!{w} )" for w in extras.not_before_weekday.split("|") if w)
        weekday_re = rf"(?P<weekday>{_alternatives(list(weekdays))}){extras.weekday_suffix}"
        rules.append((re.compile(not_before + r"(?<!\w)" + weekday_re
                                 + (rf"(?:\s+(?P<mod>{modifiers}))?" if modifiers else "") + r"(?!\w)"
                                 + (rf"(?!\s+(?:{extras.time_of_day})(?!\w))" if extras.time_of_day else ""),
                                 flags), weekday))
    rules += _relative_rules(info, extras)
    no_year = rf"(?!\s*(?:{extras.no_year_after})(?!\w))" if extras.no_year_after else ""
    rules.append((re.compile(r"(?<![\w$€£,.\-/°])" + year_re + r"(?![\w%/]|,\d|\.\d|-\d|\s\d{3}\b)" + no_year,
                             flags), _year))
    return rules


def _relative_rules(info: dict[str, Any], extras: LanguageExtras) -> list[tuple[re.Pattern[str], Resolver]]:
    """Fixed relative phrases ("hier", "le mois dernier") and counted ones ("il y a deux ans")."""
    phrases: dict[str, tuple[int, str]] = {}
    for key, words in list((info.get("relative-type") or {}).items()) + [(k, [w]) for w, k in extras.relative_words]:
        parsed = _relative_key(key)
        if parsed:
            for word in words:
                phrases[word] = parsed
    rules: list[tuple[re.Pattern[str], Resolver]] = []
    time_of_day = rf"(?!\s+(?:{extras.time_of_day})(?!\w))" if extras.time_of_day else ""
    if phrases:
        lookup = {re.sub(_APOSTROPHE, "'", p.lower()): v for p, v in phrases.items()}

        def relative(m: re.Match[str], text: str, dct: date | None) -> str | None:
            if dct is None:
                return None
            steps, unit = lookup[re.sub(_APOSTROPHE, "'", m.group(0).lower())]
            return _shifted(dct, steps, unit)

        rules.append((re.compile(rf"(?<!\w)(?:{_alternatives(list(phrases))})(?!\w)" + time_of_day, re.IGNORECASE),
                      relative))
    ago = info.get("ago") or []
    unit_words = {w.lower(): unit for unit in _UNITS for w in (info.get(unit) or []) if len(w) >= 2}
    if ago and unit_words:
        numbers = dict(extras.number_words)
        count = r"(?P<count>\d{1,3}" + (f"|{_alternatives(list(numbers))}" if numbers else "") + ")"

        def counted(m: re.Match[str], text: str, dct: date | None) -> str | None:
            word = m["count"].lower()
            steps = int(word) if word.isdigit() else numbers.get(word)
            if dct is None or not steps:
                return None
            return _shifted(dct, -steps, unit_words[m["unit"].lower()])

        rules.append((re.compile(rf"(?<!\w)(?:{_alternatives(ago)})\s+{count}\s+(?P<unit>{_alternatives(list(unit_words))})"
                                 r"(?!\w)", re.IGNORECASE), counted))
    return rules


def _relative_key(key: str) -> tuple[int, str] | None:
    """dateparser's '1 day ago' / 'in 2 month' -> (-1, 'day') / (2, 'month'); weeks, hours...: None."""
    match = re.fullmatch(r"(?:(in) )?(\d+) (\w+?)s?(?: (ago))?", key)
    if not match or match[3] not in _UNITS:
        return None
    steps = int(match[2])
    return (steps if match[1] else -steps), _UNITS[match[3]]


def _shifted(dct: date, steps: int, unit: str) -> str:
    if unit == "day":
        return (dct + timedelta(days=steps)).isoformat()
    if unit == "month":
        year, month = shift_months(dct, steps)
        return f"{year:04d}-{month:02d}"
    return f"{dct.year + steps:04d}"


def _numeric(m: re.Match[str], text: str, dct: date | None) -> str | None:
    return valid_day(int(m["year"]), int(m["month"]), int(m["day"]))


def _numeric_short(m: re.Match[str], text: str, dct: date | None) -> str | None:
    """A numeric date with a two-digit year: its century from the publication day, as in English ('07 -> 2007;
    nothing without a publication day)."""
    year = two_digit_year(m["yy"], dct)
    return None if year is None else valid_day(year, int(m["month"]), int(m["day"]))


def _year(m: re.Match[str], text: str, dct: date | None) -> str | None:
    return m["year"]


def _modifier(m: re.Match[str], extras: LanguageExtras) -> int:
    """+1 for "prochain", -1 for "dernier", 0 without one."""
    word = m.groupdict().get("mod")
    if not word:
        return 0
    if extras.next_words and re.fullmatch(extras.next_words, word, re.IGNORECASE):
        return 1
    return -1


def _tense(text: str, start: int, extras: LanguageExtras) -> int:
    """+1 future, -1 past, 0 unknown: the nearest cue to `start` in its sentence (no cues: 0)."""
    if not extras.future_cues:
        return 0
    # The part of the sentence between commas first ("partira de Brest le 26 juin, a confirmé l'organisateur":
    # the reporting verb after the comma says nothing of the date), then the whole sentence.
    for stops in ((". ", "\n", ", ", "; "), (". ", "\n")):
        left = max(text.rfind(stop, 0, start) for stop in stops)
        right = min([i for i in (text.find(stop, start) for stop in stops) if i != -1] or [len(text)])
        clause, position = text[left + 1:right], start - (left + 1)
        cues = [(abs(m.start() - position), 1)
                for m in re.finditer(rf"(?<!\w)(?:{extras.future_cues})(?!\w)", clause, re.IGNORECASE)]
        cues += [(abs(m.start() - position), -1)
                 for m in re.finditer(rf"(?<!\w)(?:{extras.past_cues})(?!\w)", clause, re.IGNORECASE)]
        if cues:
            return min(cues)[1]
    return 0


__all__ = ["CLOSE_DAYS", "LANGUAGE_EXTRAS", "find_mentioned_dates"]
