"""The shipped Kibana objects against the live mappings of a real run's indices."""

import pytest

from pipeline.kibana.saved_objects import build_saved_objects, data_view_id, mapped_fields, runs_view_id, validate
from pipeline.runners.stream import ingest
from pipeline.runs.history import runs_index
from tests.conftest import SEED

pytestmark = pytest.mark.integration


def live_fields(client, index: str) -> set[str]:
    mapping = client.indices.get_mapping(index=index)
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    return mapped_fields(properties)


def test_every_field_the_dashboards_use_exists_in_the_live_indices(es_settings, es_client):
    ingest([SEED], es_settings)
    alias = es_settings.index.alias
    fields = {data_view_id(alias): live_fields(es_client, alias),
              runs_view_id(alias): live_fields(es_client, runs_index(alias))}
    assert validate(build_saved_objects(alias), fields) == []
    # and the validator would notice a field the live index lacks
    fields[data_view_id(alias)].discard("entities.person")
    assert any("entities.person" in problem for problem in validate(build_saved_objects(alias), fields))
