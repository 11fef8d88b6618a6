"""Crash windows and concurrency: a process killed between two bookkeeping writes, two runs at once, a
re-enrichment racing an ingest. Each test kills or interleaves at a named point and then checks what an operator
would see: nothing lost, nothing doubled, nothing stale written over something newer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.index.store import Store
from pipeline.runners.stream import ingest
from pipeline.runs.quarantine import list_quarantine
from tests.conftest import raw_client
from tests.killpoints import run_killed

pytestmark = pytest.mark.integration

TOWNS = ["Lyon", "Porto", "Gdansk", "Leeds", "Bergen", "Graz", "Turin", "Malmo"]


def article(n: int, *, text: str | None = None) -> dict:
    """A small distinct article (id `a<n>`)."""
    town = TOWNS[n % len(TOWNS)]
    return {"id": f"a{n}", "title": f"{town} opens a harbour bridge, number {n}", "published": "2019-06-25",
            "text": text or f"The mayor of {town} opened harbour bridge number {n} on Monday after {n + 2} years "
                            f"of works, a long public debate and two changes of contractor."}


def write_jsonl(path: Path, records: list[dict], bad_lines: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records] + [f"{{not json, bad line {i}" for i in range(bad_lines)]
    path.write_text("\n".join(lines) + "\n")
    return path


def ledger_entries(settings) -> dict[str, dict]:
    client = raw_client(settings)
    index = f"{settings.index.alias}-ledger"
    if not client.indices.exists(index=index):
        return {}
    client.indices.refresh(index=index)
    return {hit["_source"]["key"]: hit["_source"] for hit in client.search(index=index, size=100)["hits"]["hits"]}


def stored(settings) -> dict[str, dict]:
    client = raw_client(settings)
    client.indices.refresh(index=settings.index.alias)
    return {hit["_id"]: hit["_source"] for hit in client.search(index=settings.index.alias, size=1000)["hits"]["hits"]}


# ---------------------------------------------------------------------------------------------------------------
# Quarantine and ledger: a unit is never marked done before its failures are recorded


@pytest.mark.parametrize(("point", "when"), [
    ("pipeline.runners.core:update_quarantine", "before"),  # nothing recorded yet
    ("pipeline.runners.core:update_quarantine", "after"),   # failures recorded, the file not yet done
    ("pipeline.runs.ledger:Ledger.commit", "after"),         # both written, the run not yet recorded
])
def test_a_kill_around_the_quarantine_and_ledger_writes_loses_no_failure(es_settings, tmp_path, point, when):
    folder = tmp_path / "in"
    write_jsonl(folder / "wire.jsonl", [article(n) for n in range(4)], bad_lines=3)
    run_killed(point, ["ingest", str(folder)], es_settings, when=when)

    entries = ledger_entries(es_settings)
    total, _ = list_quarantine(Store.connect(es_settings))
    # Whatever the kill point: a file the ledger calls done has its 3 bad lines in the quarantine.
    assert total == 3 or not entries, (total, entries)

    report = ingest([folder], es_settings)
    total, quarantined = list_quarantine(Store.connect(es_settings))
    assert total == 3 and len({q["ref"] for q in quarantined}) == 3
    assert ledger_entries(es_settings)[str(folder / "wire.jsonl")]["outcome"] == "indexed"
    assert len(stored(es_settings)) == 4
    assert report.rejected == (3 if not entries else 0)
