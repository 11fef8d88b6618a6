"""Mentioned dates resolve against the publication date; durations, sets and vague references are not dates."""

from datetime import UTC, date, datetime

import pytest

from pipeline.core.timestamps import InvalidDate, parse_published
from pipeline.enrich.dates import find_dates

TUESDAY = date(2019, 6, 25)  # the seed article's publication day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the seed article: an upcoming meeting "on Wednesday and Thursday"
        ("Akar will attend a NATO meeting in Brussels on Wednesday and Thursday.",
         [("Wednesday", "2019-06-26"), ("Thursday", "2019-06-27")]),
        ("He said on Monday that the talks were over.", [("Monday", "2019-06-24")]),
        ("The vote is next Tuesday.", [("next Tuesday", "2019-07-02")]),
        ("It happened last Friday.", [("last Friday", "2019-06-21")]),
        ("She arrived on June 28, 2019.", [("June 28, 2019", "2019-06-28")]),
        ("The deal was signed on 3 March 2018.", [("3 March 2018", "2018-03-03")]),
        ("Results are due 2019-07-04.", [("2019-07-04", "2019-07-04")]),
        ("The May 5 meeting went badly.", [("May 5", "2019-05-05")]),
        ("Talks resume in March 2020.", [("March 2020", "2020-03")]),
        ("It may rain in May.", [("May", "2019-05")]),
        ("Prices rose last month and will fall next year.", [("last month", "2019-05"), ("next year", "2020")]),
        ("The plant opened two years ago.", [("two years ago", "2017")]),
        ("In 2009, the firm was founded.", [("2009", "2009")]),
        ("He met her yesterday and will see her tomorrow.",
         [("yesterday", "2019-06-24"), ("tomorrow", "2019-06-26")]),
        # numeric dates: the order the text shows, for the ambiguous ones too; no evidence: month first as before
        ("It opened on 15/4/2019 and closed on 2/5/2019.", [("15/4/2019", "2019-04-15"), ("2/5/2019", "2019-05-02")]),
        ("Filed on 2/5/2019, due on 4/15/2019.", [("2/5/2019", "2019-02-05"), ("4/15/2019", "2019-04-15")]),
        # nothing in the text (or its source) decides the order: no date rather than a guess
        ("Filed on 2/5/2019.", []),
        ("Not a date: 31/31/2019.", []),
        # durations, sets, vague references and numbers that are not years
        ("Reaching out two days ahead of the meeting and four days ahead of the summit.", []),
        ("For over a year, Turkey has faced pressure.", []),
        ("It has grown every year over the past year.", []),
        ("The S-400 and F-35 deals cost 2,019 million.", []),
        ("It employs 2019 people.", []),
        ("Recently, things changed.", []),
    ],
)
def test_find_dates_resolves_calendar_expressions(text, expected):
    assert [(d.text, d.value) for d in find_dates(text, TUESDAY)] == expected


def test_offsets_point_at_the_expression():
    text = "Akar will attend a NATO meeting in Brussels on Wednesday."
    (mention,) = find_dates(text, TUESDAY)
    assert text[mention.start:mention.end] == "Wednesday"
    assert mention.precision == "day"


def test_without_publication_date_only_absolute_dates_resolve():
    text = "On Wednesday, as on June 28, 2019 and in 2009, they met."
    assert [d.value for d in find_dates(text, None)] == ["2019-06-28", "2009"]


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-06-25", "2019-06-25"),
        ("2019-06-25T09:15:00Z", "2019-06-25T09:15:00Z"),
        ("2019-06-25T11:15:00+02:00", "2019-06-25T11:15:00+02:00"),
        # the publisher's local day is kept: 23:30 in New York is already the 26th in UTC
        ("2019-06-25T23:30:00-04:00", "2019-06-25T23:30:00-04:00"),
        ("Tue, 25 Jun 2019 23:30:00 -0400", "2019-06-25T23:30:00-04:00"),
        ("2019-06-25T09:15:00", "2019-06-25T09:15:00Z"),
        ("Tue, 25 Jun 2019 09:15:00 GMT", "2019-06-25T09:15:00Z"),
    ],
)
def test_parse_published_accepts_iso_and_rfc2822(value, expected):
    assert parse_published(value, NOW).value == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2019-02-30", "unparseable"),
        ("yesterday-ish", "unparseable"),
        ("1985-01-01", "before 1990"),
        ("2031-01-01", "in the future"),
        ("2031-01-01T00:00:00Z", "in the future"),
    ],
)
def test_parse_published_rejects_impossible_dates(value, message):
    with pytest.raises(InvalidDate, match=message):
        parse_published(value, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the nearest tense cue decides, not any cue in the sentence
        ("Saddam said he will begin withdrawing troops on Friday.", [("Friday", "2019-06-28")]),
        ("Terms announced Friday say holders would receive cash.", [("Friday", "2019-06-21")]),
        # without any cue, news reports the past
        ("Trading resumed Monday.", [("Monday", "2019-06-24")]),
        # close to the publication date, the year is the publication year whatever the tense
        ("The deal will be reviewed after Feb. 11.", [("Feb. 11", "2019-02-11")]),
        ("The new plant will open in August.", [("August", "2019-08")]),
        # a weekday with a time of day is its day; a recurring weekday is a set; "the previous Friday" is the one
        # before the anchor (here the publication day)
        ("The offer expires Friday evening.", [("Friday", "2019-06-28")]),
        ("Flights leave each Thursday and on Monday nights.", []),
        ("Shares were down from the previous Friday.", [("the previous Friday", "2019-06-21")]),
        ("He called at noon Thursday.", [("Thursday", "2019-06-20")]),
        ("Tonight and this morning are times of day.", []),
        # tokenised text and weekday-prefixed dates
        ("March 06 , 2008", [("March 06 , 2008", "2008-03-06")]),
        ("The Times said on Saturday, April 20: the court erred.", [("Saturday, April 20", "2019-04-20")]),
        ("Growth slowed in mid-2018 and in July last year.", [("2018", "2018"), ("July last year", "2018-07")]),
        # a financial comparison "a year ago" is a reporting period, not a calendar year
        ("Net income was $1.1 million, up from $0.9 million a year ago.", []),
        ("The plant closed a year ago.", [("a year ago", "2018")]),
    ],
)
def test_tense_context_and_timeml_types(text, expected):
    assert [(d.text, d.value) for d in find_dates(text, TUESDAY)] == expected
