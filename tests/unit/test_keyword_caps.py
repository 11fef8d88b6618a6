"""No keyword value over Lucene's term limit (32,766 UTF-8 bytes) can reach any index newsetl creates.

A real Elasticsearch refuses a whole document holding such a term; noida-db, the local stand-in, accepts it, so
the rule is checked here on the mappings themselves: every mapping function of the code, found by name, and the
Store's own refusal of a mapping that breaks it.
"""

from __future__ import annotations

import importlib
import re

import pytest

from pipeline.core.settings import IndexSettings
from pipeline.index.mapping import KEYWORD_MAX_CHARS, MAX_TERM_BYTES, index_template, keyword, uncapped_keywords
from pipeline.index.store import Store
from tests.conftest import REPO
from tests.esrules import refused_terms

MAPPING_FUNCTION = re.compile(r"^def (\w*mappings)\(\)", re.MULTILINE)


def every_mapping() -> dict[str, dict]:
    """Every `*mappings()` function under pipeline/ (a new side index's mapping is found without being listed
    here), and the article index template."""
    found = {}
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        for name in MAPPING_FUNCTION.findall(path.read_text(encoding="utf-8")):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[f"{module}.{name}"] = getattr(importlib.import_module(module), name)()
    found["pipeline.index.mapping.index_template"] = index_template("news")["template"]["mappings"]
    return found


def test_the_walk_finds_every_index_newsetl_creates():
    names = {name.rsplit(".", 1)[0].rsplit(".", 1)[1] + "." + name.rsplit(".", 1)[1] for name in every_mapping()}
    assert {"mapping.mappings", "mapping.index_template", "ledger.ledger_mappings", "quarantine.quarantine_mappings",
            "history.runs_mappings", "registry.registry_mappings", "trends.trends_mappings",
            "recanon.changes_mappings", "alerts.alerts_mappings", "alerts.state_mappings",
            "lifecycle._lease_mappings"} <= names


@pytest.mark.parametrize("name", sorted(every_mapping()))
def test_every_keyword_of_every_mapping_is_capped(name):
    assert uncapped_keywords(every_mapping()[name]["properties"]) == []


def test_the_cap_holds_for_the_widest_characters_even_folded():
    # 4-byte characters count 2 UTF-16 units each; asciifolding writes at most 4 characters per character.
    assert KEYWORD_MAX_CHARS * 4 <= MAX_TERM_BYTES
    assert len(("\U0001F600" * (KEYWORD_MAX_CHARS // 2)).encode()) <= MAX_TERM_BYTES
    with pytest.raises(ValueError, match="ignore_above"):
        keyword(KEYWORD_MAX_CHARS + 1)


@pytest.mark.parametrize(("properties", "uncapped"), [
    ({"a": {"type": "keyword"}}, ["a"]),
    ({"a": {"type": "keyword", "ignore_above": 8191}}, []),
    ({"a": {"type": "keyword", "ignore_above": 8192}}, ["a"]),
    ({"a": {"type": "keyword", "index": False}}, ["a"]),  # doc values still hold the term
    ({"a": {"type": "keyword", "index": False, "doc_values": False}}, []),
    ({"a": {"type": "text", "fields": {"raw": {"type": "keyword"}}}}, ["a.raw"]),
    ({"a": {"properties": {"b": {"type": "keyword"}, "c": {"type": "date"}}}}, ["a.b"]),
    ({"a": {"type": "object", "enabled": False}}, []),
    ({"a": {"type": "flattened"}}, ["a"]),
])
def test_uncapped_keywords_finds_every_kind_of_uncapped_field(properties, uncapped):
    assert uncapped_keywords(properties) == uncapped


class _NoClient:
    def __getattr__(self, name):
        raise AssertionError(f"no request may be sent ({name})")


@pytest.mark.parametrize("call", [
    lambda store, bad: store.create_if_missing("x-side", bad),
    lambda store, bad: store.ensure_index("x-side", bad),
    lambda store, bad: store.create_index("x-side", mappings=bad),
    lambda store, bad: store.put_mapping("x-side", bad["properties"]),
    lambda store, bad: store.put_template("x-template", {"template": {"mappings": bad}}),
])
def test_the_store_refuses_an_uncapped_mapping_before_sending_it(call):
    store = Store(_NoClient(), IndexSettings(), where="http://test")  # type: ignore[arg-type]
    bad = {"properties": {"ok": keyword(), "url": {"type": "keyword"}}}
    with pytest.raises(ValueError, match="url"):
        call(store, bad)


@pytest.mark.parametrize(("field", "value", "refused"), [
    ({"type": "keyword"}, "a" * MAX_TERM_BYTES, []),
    ({"type": "keyword"}, "a" * (MAX_TERM_BYTES + 1), ["f (32767 bytes)"]),
    ({"type": "keyword"}, "é" * 16_384, ["f (32768 bytes)"]),
    (keyword(), "a" * 40_000, []),
    (keyword(), "\U0001F600" * 8_192, []),  # 16,384 UTF-16 units > 8,191: not indexed
])
def test_the_test_rule_matches_lucenes_limit(field, value, refused):
    assert refused_terms({"properties": {"f": field}}, {"f": value}) == refused
