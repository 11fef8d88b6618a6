"""The trend method as a specification: the score of a value's share of the window against the baseline, the
floor, the ranking, and which name an entity id is shown under."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.facets import entity_id
from pipeline.core.trends import TrendReport, burst_score, log_binomial_tail, rank_trends
from pipeline.index.trends import canonical_name, counted_field

# (what, window count, window articles, baseline count, baseline articles, expected score)
SCORES = [
    ("steady share: 10 % then 10 %", 20, 200, 600, 6000, "under 1"),
    ("new value: 3 of 200, never before", 3, 200, 0, 6000, "over 3"),
    ("doubled share", 40, 200, 600, 6000, "over 3"),
    ("the same count on a day twice as busy is no rise", 20, 400, 600, 6000, "under 1"),
    ("rarer than usual", 1, 200, 600, 6000, "under 1"),
    ("no history: nothing is new", 3, 200, 0, 0, "under 1"),
]


@pytest.mark.parametrize(("what", "x", "n", "y", "m", "expected"), SCORES, ids=[s[0] for s in SCORES])
def test_the_score_compares_shares_not_counts(what, x, n, y, m, expected):
    score, lift = burst_score(x, n, y, m)
    assert score >= 0
    assert (score < 1) if expected == "under 1" else (score > 3 and lift > 1.5)


# (k, n, p): tails against a direct sum of exact binomial probabilities (fractions, no rounding)
TAILS = [(3, 200, 0.5 / 6001), (20, 200, 0.1), (1, 1, 0.3), (0, 10, 0.2), (11, 10, 0.2), (150, 300, 0.5),
         (60, 100, 0.01)]


@pytest.mark.parametrize(("k", "n", "p"), TAILS)
def test_the_binomial_tail_is_exact(k, n, p):
    from fractions import Fraction

    q = Fraction(p)
    exact = sum(math.comb(n, i) * q ** i * (1 - q) ** (n - i) for i in range(k, n + 1))
    got = log_binomial_tail(k, n, p)
    if exact == 0:
        assert got == -math.inf
    else:
        # ln of the exact value, computed on the fraction so that 1e-120 does not underflow
        expected = math.log(exact.numerator) - math.log(exact.denominator)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_a_tail_far_below_the_smallest_float_keeps_its_size():
    # 200 of 200 articles at a share of 1e-4: P = 1e-800, far below 5e-324
    assert log_binomial_tail(200, 200, 1e-4) / math.log(10) == pytest.approx(-800)


@pytest.mark.parametrize("counts", [(-1, 10, 0, 10), (11, 10, 0, 10), (1, 10, 11, 10), (1, 10, -2, 10)])
def test_impossible_counts_are_refused(counts):
    with pytest.raises(ValueError, match="out of range"):
        burst_score(*counts)


@given(n=st.integers(1, 3000), m=st.integers(0, 30000), data=st.data())
def test_more_articles_in_the_window_never_lower_the_score(n, m, data):
    x = data.draw(st.integers(0, n - 1))
    y = data.draw(st.integers(0, m))
    assert burst_score(x + 1, n, y, m)[0] >= burst_score(x, n, y, m)[0]


@given(n=st.integers(1, 3000), m=st.integers(1, 30000), data=st.data())
def test_more_articles_in_the_baseline_never_raise_the_score(n, m, data):
    x = data.draw(st.integers(0, n))
    y = data.draw(st.integers(0, m - 1))
    assert burst_score(x, n, y + 1, m)[0] <= burst_score(x, n, y, m)[0]


@given(k=st.integers(1, 30), x=st.integers(0, 60), n=st.integers(60, 400))
def test_a_share_no_higher_than_the_baselines_is_never_a_trend(k, x, n):
    # As frequent in the window as in a baseline k times as long: not surprising, whatever the sizes.
    assert burst_score(x, n, x * k, n * k)[0] < 1


def test_rank_keeps_values_over_the_floor_and_the_score_highest_first():
    counts = {"a": ("Alpha", 30), "b": ("Beta", 12), "c": ("Gamma", 2), "d": ("Delta", 20)}
    baseline = {"a": 40, "d": 600}  # b and c are new; d is steady
    trends = rank_trends("person", counts, baseline, 200, 6000, min_count=3, min_score=3.0)
    # A name never seen before in 12 articles is more surprising than a known one in 30; Gamma is under the
    # floor, Delta steady.
    assert [t.value for t in trends] == ["Beta", "Alpha"]
    assert trends[0].score > trends[1].score
    assert (trends[0].count, trends[0].baseline_count, trends[0].articles, trends[0].baseline_articles) == \
        (12, 0, 200, 6000)
    assert trends[1].share == 30 / 200 and trends[1].baseline_share == 40 / 6000
    assert trends[0].lift == pytest.approx((12 / 200) / (0.5 / 6001), rel=1e-3)


def test_rank_stops_at_top():
    counts = {str(i): (f"V{i}", 10 + i) for i in range(20)}
    assert len(rank_trends("org", counts, {}, 400, 6000, top=5)) == 5


def test_an_entity_id_is_shown_under_the_name_it_is_the_id_of():
    blair = entity_id("PERSON", "Tony Blair")
    # The most frequent name among the articles of an id can be another person they all mention too.
    assert canonical_name("person", blair, ["Gordon Brown", "Tony Blair"]) == "Tony Blair"
    assert canonical_name("place", entity_id("GPE", "São Paulo"), ["Brazil", "São Paulo"]) == "São Paulo"
    # An id no name hashes to (a nationality word carries its country's id): the most frequent name.
    assert canonical_name("norp", "0123456789abcdef", ["British", "French"]) == "British"
    assert canonical_name("country", "Germany", []) == "Germany"


# (facet, counted id, the names of the articles holding it (most frequent first), the name shown)
NORP_NAMES = [
    # a nationality word carries its country's id: the word whose country it is, not the article's other group
    ("norp", entity_id("GPE", "Japan"), ["Chinese", "Japanese"], "Japanese"),
    ("norp", entity_id("GPE", "China"), ["Chinese", "Japanese"], "Chinese"),
    # a plural of the tables counts as its country's word too
    ("norp", entity_id("GPE", "Turkey"), ["Russians", "Turks", "Turkish"], "Turkish"),
    # a group word of no country's: its own id
    ("norp", entity_id("NORP", "Republican"), ["American", "Republican"], "Republican"),
    # a word linked to a place that is no country ("Chechen" with Chechnya's id): the name that carries no other id
    ("norp", entity_id("GPE", "Chechnya"), ["Russian", "Chechen"], "Chechen"),
]


@pytest.mark.parametrize(("facet", "key", "names", "expected"), NORP_NAMES)
def test_a_nationality_word_is_shown_under_its_countrys_id(facet, key, names, expected):
    assert canonical_name(facet, key, names) == expected


@pytest.mark.parametrize(("facet", "fld"), [("person", "entities.person_id"), ("place", "entities.place_id"),
                                            ("country", "entities.country")])
def test_values_are_counted_by_entity_id_where_there_is_one(facet, fld):
    assert counted_field(facet) == fld


def test_the_window_ends_with_the_day_and_the_baseline_precedes_it():
    report = TrendReport(date(2019, 6, 25), 3, 30, 0, 0, {})
    assert report.window == (date(2019, 6, 23), date(2019, 6, 26))
    assert report.baseline == (date(2019, 5, 24), date(2019, 6, 23))
