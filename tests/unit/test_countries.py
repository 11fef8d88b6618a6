"""`--country` values: ISO 3166 codes and names, common and official, the `UK` exception, and a clear refusal."""

from __future__ import annotations

import pytest

from pipeline.search.countries import UnknownCountry, country_code
from pipeline.search.query import SearchRequest, facet_filter


@pytest.mark.parametrize(("value", "code"), [
    ("DE", "DE"), ("de", "DE"), ("DEU", "DE"), ("276", "DE"), ("Germany", "DE"), ("  germany ", "DE"),
    ("Federal Republic of Germany", "DE"),  # official name
    ("uk", "GB"), ("UK", "GB"), ("GBR", "GB"), ("United Kingdom", "GB"),  # UK: ISO's exceptional reservation
    ("United States of America", "US"), ("United States", "US"), ("USA", "US"), ("us", "US"),
    ("Bolivia", "BO"), ("Bolivia, Plurinational State of", "BO"),  # common and ISO short names
    ("Russia", "RU"), ("Russian Federation", "RU"),  # GeoNames' name (what articles show) and ISO's
    ("Ivory Coast", "CI"), ("Cote d'Ivoire", "CI"), ("Côte d'Ivoire", "CI"),
    ("Türkiye", "TR"), ("Turkey", "TR"), ("The Netherlands", "NL"), ("Netherlands", "NL"),
    ("Kosovo", "XK"), ("XK", "XK"),  # a user-assigned code GeoNames uses, not in ISO's list
])
def test_a_country_is_read_from_any_code_or_name(value, code):
    assert country_code(value) == code


@pytest.mark.parametrize(("value", "suggested"), [
    ("Untied States", "did you mean United States"),
    ("Narnia", "give an ISO 3166 code (DE, DEU) or a country's name"),
    ("ZZ", "unknown country 'ZZ'"),
    ("", "unknown country ''"),
])
def test_an_unknown_country_is_refused_with_the_closest_names(value, suggested):
    with pytest.raises(UnknownCountry, match=suggested.replace("(", r"\(").replace(")", r"\)")):
        country_code(value)


def test_the_filter_compares_the_code_and_the_stored_name():
    assert facet_filter("country", "United States of America") == {"bool": {"should": [
        {"term": {"entities.country.folded": "United States of America"}},
        {"term": {"entities.country_code": "US"}}], "minimum_should_match": 1}}


def test_a_request_with_an_unknown_country_is_refused_before_any_search():
    with pytest.raises(ValueError, match="unknown country 'Narnia'"):
        SearchRequest(filters={"country": ("Narnia",)})
