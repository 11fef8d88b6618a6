"""Re-enrichment reads articles back from the index: nothing that no rule changed may change on the way."""

from __future__ import annotations

import pytest
import yaml

from pipeline.enrich.entities import load_entity_config
from pipeline.runners.stream import ingest, migrate, reenrich
from tests.conftest import REPO

pytestmark = pytest.mark.integration

PAGE = REPO / "samples" / "landing" / "2019-06-25" / "harbour-strike.html"
# What a change of entity rules or model may rewrite; every other field must stay byte-identical (timeline_at is
# ingested_at for an undated article).
REWRITTEN = {"pipeline_version", "content_hash", "ingested_at", "timeline_at"}


def sources_by_id(client, alias: str) -> dict[str, dict]:
    client.indices.refresh(index=alias)
    return {hit["_id"]: hit["_source"] for hit in client.search(index=alias, size=100)["hits"]["hits"]}


def without(doc: dict, fields: set[str]) -> dict:
    return {key: value for key, value in doc.items() if key not in fields}


def rules(tmp_path, name: str, blocked: str):
    """The shipped entity rules plus one blocked name no sample holds: a new fingerprint, the same facets."""
    tree = yaml.safe_load((REPO / "config" / "entities.yml").read_text())
    tree["blocklist"] = [*(tree.get("blocklist") or []), blocked]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(tree, allow_unicode=True))
    return path


@pytest.mark.parametrize("how", ["reenrich", "migrate --rebuild"])
def test_re_enrichment_keeps_every_field_no_rule_changed(how, es_settings, es_client, tmp_path):
    assert ingest([PAGE.parent], es_settings).indexed == 5
    before = sources_by_id(es_client, es_settings.index.alias)
    page = next(doc for doc in before.values() if doc["input_ref"].endswith("harbour-strike.html"))
    assert page["authors"] == ["Ines Vandermeer"] and page["site_name"]  # the fields the fault used to erase

    changed = es_settings.model_copy(update={"entities_config": rules(tmp_path, "entities.yml", "Zyxwv")})
    if how == "reenrich":
        report = reenrich(changed)
    else:
        _migration, report = migrate(changed, rebuild=True)
    assert (report.enriched, report.indexed, report.rejected) == (5, 5, 0)

    after = sources_by_id(es_client, es_settings.index.alias)
    assert set(after) == set(before)
    for doc_id, doc in after.items():
        assert without(doc, REWRITTEN) == without(before[doc_id], REWRITTEN), doc["input_ref"]
        assert f"/entities-{load_entity_config(changed.entities_config).fingerprint}/" in doc["pipeline_version"]
