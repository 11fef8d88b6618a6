"""The shipped Kibana objects against the live mappings of a real run's indices."""

import pytest

from pipeline.kibana.saved_objects import (
    alerts_view_id,
    build_saved_objects,
    data_view_id,
    mapped_fields,
    runs_view_id,
    validate,
)
from pipeline.runners.stream import ingest
from pipeline.runs.alerts import alerts_index, ensure_alert_indices
from pipeline.runs.history import runs_index
from tests.conftest import SEED

pytestmark = pytest.mark.integration


def live_fields(client, index: str) -> set[str]:
    mapping = client.indices.get_mapping(index=index)
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    return mapped_fields(properties)


def test_every_field_the_dashboards_use_exists_in_the_live_indices(es_settings, es_client, es_store):
    ingest([SEED], es_settings)
    ensure_alert_indices(es_store)  # what the first watchlist run creates
    alias = es_settings.index.alias
    fields = {data_view_id(alias): live_fields(es_client, alias),
              runs_view_id(alias): live_fields(es_client, runs_index(alias)),
              alerts_view_id(alias): live_fields(es_client, alerts_index(alias))}
    assert validate(build_saved_objects(alias), fields) == []
    # and the validator would notice a field the live index lacks
    fields[data_view_id(alias)].discard("entities.person")
    fields[alerts_view_id(alias)].discard("watchlist")
    problems = validate(build_saved_objects(alias), fields)
    assert any("entities.person" in problem for problem in problems)
    assert any(f"{alerts_view_id(alias)}-latest" in p and "'watchlist'" in p for p in problems)


def test_undated_articles_have_the_time_field_and_the_dashboard_range_fits_the_data(es_settings, es_client,
                                                                                   es_store, tmp_path):
    import json

    from pipeline.kibana.saved_objects import TIME_FIELD, live_time_range

    assert live_time_range(es_store) is None  # nothing indexed yet
    letters = tmp_path / "letters.jsonl"
    letters.write_text(json.dumps({"id": "l1", "title": "Letters", "text": "Readers wrote about the tram."}) + "\n")
    ingest([SEED, letters], es_settings)
    hits = es_client.search(index=es_settings.index.alias)["hits"]["hits"]
    docs = {h["_source"]["title"]: h["_source"] for h in hits}
    undated = docs["Letters"]
    assert undated["undated"] is True and undated[TIME_FIELD] == undated["ingested_at"]
    dated = next(d for d in docs.values() if not d["undated"])
    assert dated[TIME_FIELD] == dated["published_at"]
    first, last = live_time_range(es_store)
    assert first == "2019-06-25" and last > undated["ingested_at"][:10]
