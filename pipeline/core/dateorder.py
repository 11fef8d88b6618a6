"""The order in which an article writes numeric dates ("7/8/07": 7 August or July 8?), from its source or locale.

An order is "DMY", "MDY" or "YMD". Where it comes from, most specific first (`article_date_order`):

1. the source's configured `date_order` (config/sources.yml; a JSONL record's own `date_order` key);
2. the locale the article states: its input's `language` ("en-GB"), else its page's `<html lang>` / `og:locale`;
3. the article's language, when every country writing that language agrees ("fr", "de": day first; not "en":
   the United States write month first, Britain, India and Australia day first; not "es" either);
4. the language the source is configured with, when it names a country ("language: en-GB").

Otherwise there is no order and an ambiguous numeric date is left out by the date finder, never swapped.

The orders are CLDR's, read with Babel (the short date format of a locale: `en_GB` "dd/MM/y" is DMY, `en_US`
"M/d/yy" MDY, `en_CA` "y-MM-dd" YMD). A language without a country takes its default locale's order when all its
locales that put the year last agree on day and month (the ones whose numeric dates can be ambiguous), else none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal, get_args

from babel import Locale, UnknownLocaleError, localedata

DateOrder = Literal["DMY", "MDY", "YMD"]
DATE_ORDERS: tuple[DateOrder, ...] = get_args(DateOrder)


def parse_date_order(value: object) -> DateOrder | None:
    """A stated order ("dmy", " MDY ") as a DateOrder; None for an empty value. Raises ValueError naming the
    allowed values for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    order = str(value).strip().upper()
    if order not in DATE_ORDERS:
        raise ValueError(f"date order must be one of {', '.join(DATE_ORDERS)}, got {value!r}")
    return order  # type: ignore[return-value]  # checked against DATE_ORDERS just above


def day_first(order: str | None) -> bool | None:
    """True for DMY, False for MDY, None for YMD or no order (a "7/8/07" cannot then be read)."""
    return {"DMY": True, "MDY": False}.get(order or "")


def _pattern_order(pattern: str) -> str:
    """'dd/MM/y' -> 'DMY': the order of the year, month and day fields of a CLDR date pattern (quoted text and
    other fields ignored; 'L' is a stand-alone month)."""
    fields = []
    for letter in re.sub(r"'[^']*'", "", pattern):
        field = {"y": "Y", "M": "M", "L": "M", "d": "D"}.get(letter)
        if field and field not in fields:
            fields.append(field)
    return "".join(fields)


def _locale_order(locale: Locale) -> str:
    return _pattern_order(locale.date_formats["short"].pattern)


# ISO 639 codes that name no language ("undetermined", "multiple", "no linguistic content") and CLDR's root.
_NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis", "root"})


@lru_cache(maxsize=256)
def order_of_locale(tag: str | None) -> DateOrder | None:
    """The numeric date order of a BCP 47 / POSIX locale tag: 'en-GB' -> 'DMY', 'en_US' -> 'MDY', 'fr' -> 'DMY',
    'ja' -> 'YMD'; None for 'en' or 'es' (their countries disagree), an unknown tag or none."""
    if not tag or not tag.strip() or re.split(r"[-_.@]", tag.strip())[0].lower() in _NO_LANGUAGE:
        return None  # Babel would read "und" as its likely locale, en_US
    locale = _parse_locale(tag.strip().replace("-", "_"))
    subtags = re.split(r"[_.@]", tag.strip().replace("-", "_"))
    region = next((part.upper() for part in subtags[1:] if (len(part) == 2 and part.isalpha())
                   or (len(part) == 3 and part.isdigit())), None)
    if region and (locale is None or locale.territory != region):
        # A region CLDR has no locale for says nothing about the order: the language's, as if no region were given
        # (Babel reads "en_ZZ", the unknown region, as its likely locale en_US, and refuses "fr_US").
        locale = _parse_locale(subtags[0])
        if locale is not None and locale.territory:
            locale = Locale(locale.language, script=locale.script)
    if locale is None:
        return None
    order = _locale_order(locale)
    if order not in DATE_ORDERS:
        return None
    if locale.territory or order == "YMD":
        return order  # type: ignore[return-value]  # one of DATE_ORDERS
    return order if _language_agrees(locale.language, order) else None  # type: ignore[return-value]


def _parse_locale(identifier: str) -> Locale | None:
    try:
        return Locale.parse(identifier)
    except (ValueError, TypeError, UnknownLocaleError):
        return None


@lru_cache(maxsize=64)
def _language_agrees(language: str, order: str) -> bool:
    """Every locale of `language` that writes the year last puts day and month in `order`'s order."""
    for identifier in localedata.locale_identifiers():
        if identifier.split("_")[0] != language:
            continue
        other = _locale_order(Locale.parse(identifier))
        if other.endswith("Y") and other != order:
            return False
    return True


def article_date_order(source_order: str | None, stated_locales: Iterable[str | None], language: str | None,
                       source_language: str | None) -> DateOrder | None:
    """The order an article's numeric dates are read in (module docstring): the source's configured order, else
    the first stated locale that has one, else the article's language, else the source's configured language.
    Raises ValueError for a source order that is not one of DATE_ORDERS."""
    configured = parse_date_order(source_order)
    if configured is not None:
        return configured
    for tag in (*stated_locales, language, source_language):
        order = order_of_locale(tag)
        if order is not None:
            return order
    return None
