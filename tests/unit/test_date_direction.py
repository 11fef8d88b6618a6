"""Direction and reference of mentioned dates as a careful reader resolves them (cases written for this project).

Each case: a sentence, its publication day and the values a reader gives. Bare weekdays and months take their
direction from the clause that governs them (the dependency parse), not from the nearest tense word; reference
expressions resolve against the last date before them, else the publication day.
"""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.enrich.clauses import ClauseDirection, load_parser
from pipeline.enrich.dates import WEEKDAYS, find_dates

TUE = date(2019, 6, 25)  # a Tuesday in June
SUN = date(2015, 2, 22)  # a Sunday


@pytest.fixture(scope="module")
def parser(nlp):
    loaded = load_parser(nlp)
    assert loaded is not None and "parser" in loaded.pipe_names
    return loaded


def resolve(parser, text: str, dct: date) -> list[tuple[str, str]]:
    return [(d.text, d.value) for d in find_dates(text, dct, direction=ClauseDirection(parser, text))]


DIRECTION_CASES = [
    # the modal of the date's own clause decides, not the reporting verb nearer to it
    ("The ministry will present the plan on Thursday, officials said.", TUE, [("Thursday", "2019-06-27")]),
    ("Officials said on Thursday that the plan was ready.", TUE, [("Thursday", "2019-06-20")]),
    ("The minister would sign the deal on Friday, aides said.", TUE, [("Friday", "2019-06-28")]),
    ("The ministry said the bridge would reopen on Sunday.", TUE, [("Sunday", "2019-06-30")]),
    ("She'll arrive on Saturday.", TUE, [("Saturday", "2019-06-29")]),
    ("He is going to announce his decision on Friday.", TUE, [("Friday", "2019-06-28")]),
    ("The court could rule as early as Friday.", TUE, [("Friday", "2019-06-28")]),
    ("The talks may resume on Monday.", TUE, [("Monday", "2019-07-01")]),
    # moved, scheduled, bounded: ahead
    ("Peace talks have been postponed until Monday, mediators announced.", SUN, [("Monday", "2015-02-23")]),
    ("The vote was delayed to Friday.", TUE, [("Friday", "2019-06-28")]),
    ("The summit is scheduled for Thursday.", TUE, [("Thursday", "2019-06-27")]),
    ("The election, scheduled for Sunday, will be the first in a decade.", TUE, [("Sunday", "2019-06-30")]),
    ("Protesters plan to march on Saturday.", TUE, [("Saturday", "2019-06-29")]),
    # a date after the planned thing's noun dates that thing, even after a past planning verb
    ("Protesters planned a large demonstration in the city centre on Saturday.", TUE, [("Saturday", "2019-06-29")]),
    ("The unions scheduled a strike on Thursday.", TUE, [("Thursday", "2019-06-27")]),
    # but a date before the planned thing dates the planning itself
    ("The two sides agreed on Monday to resume the talks.", TUE, [("Monday", "2019-06-24")]),
    ("The ministry decided on Monday to close the mine.", TUE, [("Monday", "2019-06-24")]),
    ("Investors expect the central bank to cut rates on Thursday.", TUE, [("Thursday", "2019-06-27")]),
    ("The offer is valid until Sunday.", TUE, [("Sunday", "2019-06-30")]),
    ("Applications must be submitted by Friday.", TUE, [("Friday", "2019-06-28")]),
    # the present tense of a scheduled event points ahead
    ("The prime minister meets the king on Friday.", TUE, [("Friday", "2019-06-28")]),
    ("Parliament votes on the budget on Thursday.", TUE, [("Thursday", "2019-06-27")]),
    ("The strike begins on Monday.", TUE, [("Monday", "2019-07-01")]),
    # the act itself, in the past
    ("The meeting was postponed on Monday.", TUE, [("Monday", "2019-06-24")]),
    ("The company reported its results on Monday.", TUE, [("Monday", "2019-06-24")]),
    ("Police arrested two men on Sunday.", TUE, [("Sunday", "2019-06-23")]),
    ("He had met the envoy on Wednesday.", TUE, [("Wednesday", "2019-06-19")]),
    ("Markets were closed on Friday.", TUE, [("Friday", "2019-06-21")]),
    ("The president, who spoke on Monday, warned of more cuts.", TUE, [("Monday", "2019-06-24")]),
    ("Trading resumed Monday after the holiday.", TUE, [("Monday", "2019-06-24")]),
    ("He refused to comment on Monday.", TUE, [("Monday", "2019-06-24")]),
    # a verb whose past is its base form ("hurt", "cut") read as present is no sign of a scheduled event
    ("Losses in big stocks hurt the index on Friday.", TUE, [("Friday", "2019-06-21")]),
    # a headline's present tense reports the past: no direction from it, news reports what happened
    ("Apple unveils a new laptop on Monday", TUE, [("Monday", "2019-06-24")]),
    # the publication day's own weekday is that day
    ("Akar will attend a NATO meeting in Brussels on Wednesday and Thursday.", TUE,
     [("Wednesday", "2019-06-26"), ("Thursday", "2019-06-27")]),
    ("The minister spoke on Tuesday.", TUE, [("Tuesday", "2019-06-25")]),
    # a weekday with a time of day is its day
    ("The team will play again next Friday afternoon.", TUE, [("next Friday", "2019-06-28")]),
    ("The fire broke out on Sunday night.", TUE, [("Sunday", "2019-06-23")]),
    ("Shares fell yesterday afternoon.", TUE, [("yesterday", "2019-06-24")]),
    # months and days without a year, far from the publication date: the clause decides the year
    ("Parties are preparing for the vote in October.", TUE, [("October", "2019-10")]),
    ("The vote in October was close.", TUE, [("October", "2018-10")]),
    ("The plant will close in December.", TUE, [("December", "2019-12")]),
    ("The plant closed in December.", TUE, [("December", "2018-12")]),
    ("The new law takes effect in January.", TUE, [("January", "2020-01")]),
    ("The minister will visit China in March.", TUE, [("March", "2020-03")]),
    ("The tournament starts on Dec. 5.", TUE, [("Dec. 5", "2019-12-05")]),
    ("The deal was signed on Dec. 5.", TUE, [("Dec. 5", "2018-12-05")]),
    ("The dividend is payable Jan. 2.", TUE, [("Jan. 2", "2020-01-02")]),
    ("The summit was held on Oct. 12.", TUE, [("Oct. 12", "2018-10-12")]),
    # a simple past verb the date modifies: past even a few weeks ahead of the publication day
    ("The firm changed its fiscal year in August.", TUE, [("August", "2018-08")]),
    ("The quarter ended July 6.", TUE, [("July 6", "2018-07-06")]),
    ("Next week's election is set for July 6.", TUE, [("July 6", "2019-07-06")]),
    # a date before the complementiser of a clause does not take that clause's modal
    ("He dismissed warnings on Monday that the strikes could harm relations.", TUE, [("Monday", "2019-06-24")]),
    # a participle takes the time of the verb above it; a deadline given is ahead; "a.m." ends no sentence
    ("It said two flights would leave Bombay from March 30, with the third departing from August 6.", date(2019, 2, 13),
     [("March 30", "2019-03-30"), ("August 6", "2019-08-06")]),
    ("The agency has given the family until 9 a.m. Thursday to sign the paper.", TUE, [("Thursday", "2019-06-27")]),
]

REFERENCE_CASES = [
    ("The plant opened in 2005. A year earlier, the site had been sold.", TUE,
     [("2005", "2005"), ("A year earlier", "2004")]),
    ("He arrived in Paris on June 3. The same day, he met the president.", TUE,
     [("June 3", "2019-06-03"), ("The same day", "2019-06-03")]),
    ("He arrived on June 3 and left the next day.", TUE, [("June 3", "2019-06-03"), ("the next day", "2019-06-04")]),
    ("The crash happened on March 4, 2018. That day, 30 flights were cancelled.", TUE,
     [("March 4, 2018", "2018-03-04"), ("That day", "2018-03-04")]),
    ("Officials met on Monday. Later in the day, they issued a statement.", TUE,
     [("Monday", "2019-06-24"), ("the day", "2019-06-24")]),
    ("The firm was founded in 1998; the previous year its owner had left Shell.", TUE,
     [("1998", "1998"), ("the previous year", "1997")]),
    ("The war ended in 1945. The following year, the treaty was signed.", TUE,
     [("1945", "1945"), ("The following year", "1946")]),
    ("In 2010 revenue doubled; the year before, it had fallen.", TUE, [("2010", "2010"), ("the year before", "2009")]),
    ("The law changed in May 2016, and that year exports rose.", TUE, [("May 2016", "2016-05"), ("that year", "2016")]),
    ("He left on Friday, June 14, and returned the following Monday.", TUE,
     [("Friday, June 14", "2019-06-14"), ("the following Monday", "2019-06-17")]),
    ("Elections are due later this year.", TUE, [("later this year", "2019")]),
    ("Unemployment rose earlier this year.", TUE, [("earlier this year", "2019")]),
    ("Output was flat compared with the same period last year.", TUE, [("the same period last year", "2018")]),
    ("Exports are lower than a year earlier.", TUE, [("a year earlier", "2018")]),
    ("Prices rose last year and will rise next year.", TUE, [("last year", "2018"), ("next year", "2020")]),
    ("Last year's harvest was poor, and next year's budget is tight.", TUE,
     [("Last year", "2018"), ("next year", "2020")]),
    # holidays: their day in the year written, else in the year the clause points to; not as a noun's modifier
    ("The boy was found on Thanksgiving Day.", TUE, [("Thanksgiving Day", "2018-11-22")]),
    ("The campaign will run until Election Day.", TUE, [("Election Day", "2019-11-05")]),
    ("He was freed on Christmas Eve 2018, and they met at Easter.", TUE,
     [("Christmas Eve 2018", "2018-12-24"), ("Easter", "2019-04-21")]),
    ("Christmas shopping fell, and the Easter eggs were hidden.", TUE, []),
    # a generic "of tomorrow", a name ending in "Today", a march: no date; "March of 2019" is the month
    ("He told USA Today he would choose the people of tomorrow.", TUE, []),
    ("Today, he said no; the vote is set for tomorrow.", TUE, [("Today", "2019-06-25"), ("tomorrow", "2019-06-26")]),
    ("She led the March of the Mothers in March of 2018.", TUE, [("March of 2018", "2018-03")]),
    # a day next to a date the rules found; a time of day after a date is that day's (it needs the date)
    ("The day before last Tuesday's hearing, he went home.", TUE, [("The day before last Tuesday", "2019-06-17")]),
    ("He appeared in court on Monday and was released the next morning.", TUE,
     [("Monday", "2019-06-24"), ("the next morning", "2019-06-25")]),
    ("He was released the next morning.", TUE, []),
    # no anchor for "that day": not the publication day
    ("That day has come, he wrote.", TUE, []),
    # a comparison of durations, a decade, a set, a duration, a vague reference: no date
    ("The bill passed a year earlier than planned.", TUE, []),
    ("Sales in the 1990s grew, and the '90s were good.", TUE, []),
    ("The festival grows every year.", TUE, []),
    ("The meeting lasted two days.", TUE, []),
    ("Recently, prices fell.", TUE, []),
    ("Profit rose in the third quarter of 2018.", TUE, []),
    # a year's figure in a comparison is the same reporting period's, not the calendar year's
    ("Sales were $2.49 billion, up from last year's $2.34 billion.", TUE, []),
    ("Net fell to 78 cents from 2018's 91 cents.", TUE, []),
    ("Interest rates were lower than a year ago.", TUE, []),
    ("He left the company more than two years ago.", TUE, [("two years ago", "2017")]),
    ("Last year's results were hurt by charges.", TUE, [("Last year", "2018")]),
    # the year being reported on; spelled-out years of transcribed speech
    ("For the year, sales were flat.", TUE, [("the year", "2019")]),
    ("Shares rose to a high for the year of $42.875 in May.", TUE, [("the year", "2019"), ("May", "2019-05")]),
    ("Sales rose in the year before the merger.", TUE, []),
    ("In nineteen ninety-one he was convicted.", TUE, [("nineteen ninety-one", "1991")]),
    # years by their last two digits, slashed dates in the text's own order
    ("The class of '82 met in Boston.", TUE, [("'82", "1982")]),
    ("The form was filed 7/8/07.", TUE, []),
    ("Filed on 25/12/2018 and renewed on 7/8/2019.", TUE, [("25/12/2018", "2018-12-25"), ("7/8/2019", "2019-08-07")]),
    ("Filed on 12/25/2018 and renewed on 7/8/2019.", TUE, [("12/25/2018", "2018-12-25"), ("7/8/2019", "2019-07-08")]),
    # spelled ordinal days, the second of two coordinated days, years after pre-/post-
    ("The ceremony was held on March eighth.", TUE, [("March eighth", "2019-03-08")]),
    ("It opened on the twenty-first of May, 2018.", TUE, [("the twenty-first of May, 2018", "2018-05-21")]),
    ("The summit on July 24 and 25 will be held in Brussels.", TUE, [("July 24", "2019-07-24"), ("25", "2019-07-25")]),
    ("The post-1959 politics split families.", TUE, [("1959", "1959")]),
    # a season, a week and a set hold no day, month or year value of ours (TIMEX3 1994-WI, 2019-W28, a SET)
    ("It was signed in the winter of 1994, and the class of summer '82 met.", TUE, []),
    ("A hearing is set for the week of July 8.", TUE, []),
    ("Flights leave on Monday and Tuesday nights.", TUE, []),
    ("Prices will fall next year.", TUE, [("next year", "2020")]),
]


@pytest.mark.parametrize(("text", "dct", "expected"), DIRECTION_CASES + REFERENCE_CASES)
def test_a_careful_reader_agrees(parser, text, dct, expected):
    assert resolve(parser, text, dct) == expected


def test_the_table_is_large_enough():
    assert len(DIRECTION_CASES) + len(REFERENCE_CASES) >= 60


def test_day_first_source_order_decides_an_ambiguous_slashed_date():
    assert [d.value for d in find_dates("It was signed 7/8/07.", TUE, day_first=True)] == ["2007-08-07"]
    assert [d.value for d in find_dates("It was signed 7/8/07.", TUE, day_first=False)] == ["2007-07-08"]


def test_only_sentences_with_a_date_in_doubt_are_parsed(parser):
    text = ("Prices rose in 2018. Nothing else happened here. The ministry will present the plan on Thursday. "
            "It met on June 3, 2019.")
    direction = ClauseDirection(parser, text)
    find_dates(text, TUE, direction=direction)
    assert direction.parsed == 1


@settings(max_examples=25, deadline=None)
@given(dct=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
       weekday=st.sampled_from(sorted(WEEKDAYS, key=WEEKDAYS.get)))
def test_a_weekday_is_within_the_week_on_the_side_its_clause_points_to(parser, dct, weekday):
    name = weekday.capitalize()
    (ahead,) = resolve(parser, f"The minister will visit Paris on {name}.", dct)
    (back,) = resolve(parser, f"The minister visited Paris on {name}.", dct)
    assert dct <= date.fromisoformat(ahead[1]) <= dct + timedelta(days=6)
    assert dct - timedelta(days=6) <= date.fromisoformat(back[1]) <= dct
    assert date.fromisoformat(ahead[1]).weekday() == date.fromisoformat(back[1]).weekday() == WEEKDAYS[weekday]
