"""Trends on Reuters-21578: the method of pipeline/core/trends.py through the product's own counting
(pipeline/index/trends.py) on a throw-away noida-db, with the wires' own dates and their editors' codes as facets.

    .venv/bin/python bench/trends.py [--corpora ../shared/corpora] [--days 1987-04-07 ...] [--json out.json]

The 21,578 wires are read by path (never copied) and indexed with the product's mapping: `timeline_at` = the
wire's timestamp, and as facets the document-level codes Reuters' editors gave each wire (people -> person,
orgs -> org, places -> place, topics -> misc), each with its entity id as the pipeline writes it. The codes are
manual labels, not NER output, so the figures measure the method and the counting, not the entity extraction.

Printed:
1. the top values of every facet for a few days, with score, articles and baseline share;
2. a sanity check: on every evaluated day (a full 30-day baseline, at least 100 wires) a made-up value is
   injected into k of that day's wires (k = 3, 5, 10, chosen by a hash) and must be found (score >= MIN_SCORE)
   on that day; a steady value, put in every wire whose id hashes to 0 mod 10 (10 % of every day), must not.
   Days are split dev / held-out by the sha1 of the date (the method's parameters were set before either was
   read; both are reported).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipeline.core.facets import entity_id
from pipeline.core.settings import PROJECT_ROOT, load_settings
from pipeline.core.trends import MIN_SCORE
from pipeline.index.articles import ensure_index
from pipeline.index.embedded import ensure_embedded_server, stop_embedded_server
from pipeline.index.store import BulkAction, Store
from pipeline.index.trends import compute_trends

CORPORA = PROJECT_ROOT.parent / "shared" / "corpora"
FACETS = {"people": ("person", "PERSON"), "orgs": ("org", "ORG"), "places": ("place", "GPE"),
          "topics": ("misc", "MISC")}
SHOW_DAYS = ["1987-03-31", "1987-04-07", "1987-04-13"]
INJECT = (3, 5, 10)
STEADY = "steady-tenth"


def sha(text: str) -> int:
    """A stable hash of a string (the same on every run and machine)."""
    return int(hashlib.sha1(text.encode()).hexdigest(), 16)


def documents(corpora: Path, eval_days: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(id, document) of every wire, with the injected values of each evaluated day and the steady value."""
    wires = []
    with gzip.open(corpora / "news_reuters21578" / "reuters21578.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            wires.append(json.loads(line))
    by_day: dict[str, list[int]] = {}
    for i, wire in enumerate(wires):
        by_day.setdefault(wire["date"][:10], []).append(i)
    injected: dict[int, list[str]] = {}
    for day in eval_days:
        ranked = sorted(by_day[day], key=lambda i: sha(f"{day}:{wires[i]['newid']}"))
        for k in INJECT:
            for i in ranked[:k]:
                injected.setdefault(i, []).append(f"injected-{k}-{day}")
    docs = []
    for i, wire in enumerate(wires):
        entities: dict[str, list[str]] = {}
        for code_field, (facet, label) in FACETS.items():
            values = list(wire.get(code_field) or [])
            if facet == "misc":
                values += injected.get(i, [])
                if sha(str(wire["newid"])) % 10 == 0:
                    values.append(STEADY)
            entities[facet] = values
            entities[f"{facet}_id"] = [entity_id(label, v) for v in values]
        docs.append((f"r{wire['newid']}", {"title": wire.get("title") or "", "timeline_at": wire["date"] + "Z",
                                          "published_at": wire["date"] + "Z", "undated": False,
                                          "entities": entities}))
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--days", nargs="*", default=SHOW_DAYS, help="days whose top values are printed")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()

    counts = Counter()
    with gzip.open(args.corpora / "news_reuters21578" / "reuters21578.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            counts[json.loads(line)["date"][:10]] += 1
    first = min(counts)
    # A full baseline: 30 days of wires before the day; and a working day's volume.
    eval_days = sorted(d for d, n in counts.items()
                       if n >= 100 and (date.fromisoformat(d) - date.fromisoformat(first)).days >= 30
                       and date.fromisoformat(d) <= date(1987, 4, 30))
    docs = documents(args.corpora, eval_days)

    data_dir = Path(tempfile.mkdtemp(prefix="trends-es-"))
    out: dict[str, Any] = {"days": {}, "injected": [], "steady": []}
    try:
        url = ensure_embedded_server(data_dir)
        settings = load_settings(PROJECT_ROOT / "config" / "settings.yml",
                                 env={"ELASTICSEARCH_URL": url, "NEWSETL_INDEX_ALIAS": "reuters",
                                      "NEWSETL_DATA_DIR": str(data_dir)})
        store = Store.connect(settings)
        ensure_index(store)
        started = time.perf_counter()
        store.bulk((BulkAction("index", store.alias, doc_id, doc) for doc_id, doc in docs), refresh=True)
        indexed = time.perf_counter() - started
        timings = []
        for day in sorted(set(eval_days) | set(args.days)):
            started = time.perf_counter()
            report = compute_trends(store, date.fromisoformat(day), facets=[f for f, _ in FACETS.values()],
                                    top=200)
            timings.append(time.perf_counter() - started)
            split = "dev" if sha(day) % 2 == 0 else "heldout"
            misc = {t.value: (rank, t) for rank, t in enumerate(report.trends["misc"], start=1)}
            for k in INJECT:
                name = f"injected-{k}-{day}"
                found = misc.get(name)
                out["injected"].append({"day": day, "split": split, "k": k, "articles": report.articles,
                                        "found": found is not None, "rank": found[0] if found else None,
                                        "score": found[1].score if found else None})
            if day in eval_days:
                out["steady"].append({"day": day, "split": split, "trending": STEADY in misc,
                                      "score": misc[STEADY][1].score if STEADY in misc else None})
            if day in args.days:
                out["days"][day] = {"articles": report.articles, "baseline_articles": report.baseline_articles,
                                    "trends": {facet: [t.to_dict() for t in trends
                                                       if not t.value.startswith(("injected-", STEADY))][:args.top]
                                               for facet, trends in report.trends.items()}}
    finally:
        stop_embedded_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)

    print(f"{len(docs)} wires indexed in {indexed:.1f} s; {len(eval_days)} evaluated days; compute_trends "
          f"{min(timings):.1f}-{max(timings):.1f} s a day; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}, "
          f"{datetime.now().isoformat(timespec='minutes')}")
    for day, shown in out["days"].items():
        print(f"\n{day}: {shown['articles']} wires against {shown['baseline_articles']} in the 30 days before")
        for facet, trends in shown["trends"].items():
            cells = [f"{t['value']} {t['score']:.1f} ({t['count']}, {t['share']:.1%} vs {t['baseline_share']:.1%})"
                     for t in trends]
            print(f"  {facet:<7} " + ("; ".join(cells) or "-"))
    print(f"\ninjected value found on its day (score >= {MIN_SCORE:g}), by split:")
    for split in ("dev", "heldout"):
        rows = [r for r in out["injected"] if r["split"] == split]
        cells = []
        for k in INJECT:
            of_k = [r for r in rows if r["k"] == k]
            ranks = sorted(r["rank"] for r in of_k if r["found"])
            cells.append(f"k={k}: {sum(r['found'] for r in of_k)}/{len(of_k)} (median rank "
                         f"{ranks[len(ranks) // 2] if ranks else '-'})")
        steady = [r for r in out["steady"] if r["split"] == split]
        print(f"  {split:<8} " + "; ".join(cells) + f"; steady value trending on {sum(r['trending'] for r in steady)}"
              f"/{len(steady)} days")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
