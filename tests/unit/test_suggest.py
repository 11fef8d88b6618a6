"""Closest facet values offered when a filter value matches nothing."""

import pytest

from pipeline.search.suggest import closest_values, fold

NAMES = ["Tony Blair", "Cherie Blair", "Gordon Brown", "José Mourinho", "Blairgowrie Town", "Tony Blackburn"]


@pytest.mark.parametrize(("value", "expected"), [
    ("blair", ["Tony Blair", "Cherie Blair"]),  # every word of the value, shortest names first
    ("Tony Blaire", ["Tony Blair", "Tony Blackburn"]),  # a typo: difflib's ratio
    ("jose mourino", ["José Mourinho"]),  # accents and case aside
    ("Angela Merkel", []),  # nothing close
    ("Tony Blair", ["Tony Blackburn"]),  # the value itself is not a suggestion of itself
])
def test_closest_values(value, expected):
    assert closest_values(value, NAMES) == expected


def test_at_most_n_values_in_their_canonical_spelling():
    assert closest_values("blair", NAMES + ["TONY BLAIR"], n=1) == ["Tony Blair"]


@pytest.mark.parametrize(("text", "folded"), [("São Paulo", "sao paulo"), ("ÉCOLE", "ecole"), ("naïve", "naive")])
def test_fold_is_lower_case_without_accents(text, folded):
    assert fold(text) == folded
