"""The publication date of an article: parsed from what the input, a feed or the page states, validated, never
invented.

Pure functions, shared by the collect stage (feed and sitemap dates feedparser cannot read) and the clean stage.
Bad values raise `InvalidDate` (a ValueError); the clean stage turns that into a warning and an undated article.
A timestamp that carries a UTC offset keeps it ("2019-06-25T23:30:00-04:00" stays on the publisher's 25 June,
where UTC would say the 26th); one without an offset is read as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

# Dates guessed from a page before 1990 are almost always wrong (copyright lines, archive stubs); a date the input
# states explicitly is trusted back to 1900, so historical collections (Reuters-21578, 1987) keep theirs.
EARLIEST_PUBLICATION = date(1990, 1, 1)
EARLIEST_STATED_PUBLICATION = date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class PublishedDate:
    """A validated publication date: ISO value (a day, or a timestamp with its offset, "Z" for UTC) and the
    publisher's local day it falls on."""

    value: str
    day: date


class InvalidDate(ValueError):
    """A publication date that cannot be parsed or is outside the plausible range."""


def parse_published(value: str, now: datetime, earliest: date = EARLIEST_PUBLICATION) -> PublishedDate:
    """Parse an ISO date/datetime or RFC 2822 timestamp; raise InvalidDate if malformed, too early or future.

    The offset a timestamp states is kept in `value` and decides `day`; the future check is made in UTC, with
    14 hours of slack for publishers east of UTC.
    """
    text = value.strip()
    parsed: date | datetime
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            parsed = date.fromisoformat(text)
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                parsed = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidDate(f"unparseable date {value!r}: {exc}") from None
    if isinstance(parsed, datetime):
        aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        utc = aware.astimezone(UTC)
        offset = aware.utcoffset()
        if offset:
            result = PublishedDate(aware.replace(microsecond=0).isoformat(), aware.date())
        else:
            result = PublishedDate(utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.date())
        latest = now + timedelta(hours=14)  # publishers east of UTC are already "tomorrow"
        if utc > latest:
            raise InvalidDate(f"date {value!r} is in the future")
    else:
        result = PublishedDate(parsed.isoformat(), parsed)
        if parsed > (now + timedelta(hours=14)).date():
            raise InvalidDate(f"date {value!r} is in the future")
    if result.day < earliest:
        raise InvalidDate(f"date {value!r} is before {earliest.year}")
    return result
