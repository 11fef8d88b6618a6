"""Search relevance: precision@5 and MRR of `newsetl search` on a judged query set, before and after.

    .venv/bin/python bench/search_relevance.py [--corpora ../shared/corpora] [--reuters 2000] [--json out.json]

The articles are read by path from the corpora (never copied): the 2,225 BBC articles and the Reuters-21578
wires with NEWID <= --reuters that have a body; the judged articles plus others picked by a hash of their id, up to
--articles (noida-db answers a search over 4,000 documents in tens of seconds on a loaded machine). They are
indexed, title and text only, into two indices of a throw-away local noida-db:

- before: the analysis and query of mapping v3 — `english` analyzer (Porter stemming, English stopwords) on title
  and body, and the query string as one `multi_match` (title^3, body, operator AND), operators being words;
- after: the index template of pipeline/index/mapping.py and the query built by pipeline/search/query.py from the
  parsed query language.

The queries and the articles that must rank in the top 5 are bench/search_relevance.yml (ids only). Metrics per
query, averaged per split (dev / heldout):
- P@5 = relevant articles among the top 5 / min(5, number of relevant articles), so a query with two relevant
  articles scores 1.0 when both are in the top 5;
- MRR = 1 / rank of the first relevant article within the top 10, else 0.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from elasticsearch import Elasticsearch, helpers

from pipeline.core.settings import PROJECT_ROOT
from pipeline.index.embedded import ensure_embedded_server, stop_embedded_server
from pipeline.index.mapping import index_template
from pipeline.search.query import SearchRequest, build_query

QUERIES = Path(__file__).with_name("search_relevance.yml")
CORPORA = PROJECT_ROOT.parent / "shared" / "corpora"
DEPTH = 10


def load_articles(corpora: Path, reuters_max: int) -> dict[str, dict[str, str]]:
    """Corpus id -> {title, body}: every BBC article, Reuters wires with a body and NEWID <= reuters_max."""
    articles: dict[str, dict[str, str]] = {}
    with gzip.open(corpora / "news_bbc2225" / "bbc2225.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            articles[f"bbc:{record['id']}"] = {"title": record["title"], "body": record["text"]}
    with gzip.open(corpora / "news_reuters21578" / "reuters21578.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["newid"] > reuters_max:
                break
            if record.get("body"):
                articles[f"reuters:{record['newid']}"] = {"title": record.get("title") or "", "body": record["body"]}
    return articles


def sample(articles: dict[str, dict[str, str]], keep: set[str], size: int) -> dict[str, dict[str, str]]:
    """The `keep` articles plus others chosen by a hash of their id (the same every run) up to `size`."""
    others = sorted((a for a in articles if a not in keep), key=lambda a: hashlib.sha1(a.encode()).hexdigest())
    chosen = keep | set(others[:max(0, size - len(keep))])
    return {doc_id: doc for doc_id, doc in articles.items() if doc_id in chosen}


def before_template() -> dict[str, Any]:
    """Mapping v3's text analysis: `english` on title and body, no sub-fields, plain facet keywords."""
    template = index_template("before")["template"]
    properties = template["mappings"]["properties"]
    properties["title"] = {"type": "text", "analyzer": "english"}
    properties["body"] = {"type": "text", "analyzer": "english"}
    return template


def before_query(text: str) -> dict[str, Any]:
    """The query of pipeline/search/query.py before the query language (v3)."""
    return {"multi_match": {"query": text, "fields": ["title^3", "body"], "operator": "and"}}


def after_query(text: str) -> dict[str, Any]:
    """The query `newsetl search TEXT` sends now."""
    return build_query(SearchRequest(query=text, size=DEPTH))["query"]


def scores(ranked: list[str], relevant: set[str]) -> tuple[float, float]:
    """(P@5 over min(5, |relevant|), reciprocal rank within the ranked list)."""
    p5 = len(set(ranked[:5]) & relevant) / min(5, len(relevant))
    rr = next((1 / rank for rank, doc in enumerate(ranked, start=1) if doc in relevant), 0.0)
    return p5, rr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--reuters", type=int, default=2000, help="read Reuters wires with NEWID up to this")
    parser.add_argument("--articles", type=int, default=400,
                        help="index the relevant articles plus others up to this many (0: all); noida-db searches "
                             "slowly over thousands of documents")
    parser.add_argument("--json", type=Path, help="write per-query results here")
    args = parser.parse_args()

    queries = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))["queries"]
    articles = load_articles(args.corpora, args.reuters)
    relevant = {doc for q in queries for doc in q["relevant"]}
    missing = sorted(relevant - set(articles))
    if missing:
        raise SystemExit(f"relevant ids not in the indexed articles: {missing}")
    if args.articles:
        articles = sample(articles, relevant, args.articles)
    data_dir = Path(tempfile.mkdtemp(prefix="relevance-es-"))
    try:
        client = Elasticsearch(ensure_embedded_server(data_dir), request_timeout=120)
        setups = {"before": (before_template(), before_query),
                  "after": (index_template("after")["template"], after_query)}
        started = time.perf_counter()
        for name, (template, _query) in setups.items():
            client.indices.create(index=name, settings=template["settings"], mappings=template["mappings"])
            helpers.bulk(client, ({"_index": name, "_id": doc_id, "_source": doc}
                                  for doc_id, doc in articles.items()), chunk_size=500)
            client.indices.refresh(index=name)
        indexed = time.perf_counter() - started
        rows = []
        for q in queries:
            row = {"query": q["query"], "kind": q["kind"], "split": q["split"], "relevant": q["relevant"]}
            for name, (_template, build) in setups.items():
                hits = client.search(index=name, query=build(q["query"]), size=DEPTH, source=False)["hits"]["hits"]
                ranked = [h["_id"] for h in hits]
                row[name] = {"top": ranked[:5], "p5": scores(ranked, set(q["relevant"]))[0],
                             "rr": scores(ranked, set(q["relevant"]))[1]}
            rows.append(row)
    finally:
        stop_embedded_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)

    print(f"{len(articles)} articles indexed twice in {indexed:.1f} s; {len(queries)} queries; "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'split':<8} {'n':>3}  {'P@5 before':>10} {'P@5 after':>10}  {'MRR before':>10} {'MRR after':>10}")
    for split in ("dev", "heldout", "all"):
        chosen = [r for r in rows if split in ("all", r["split"])]
        mean = {(name, m): sum(r[name][m] for r in chosen) / len(chosen)
                for name in ("before", "after") for m in ("p5", "rr")}
        print(f"{split:<8} {len(chosen):>3}  {mean['before', 'p5']:>10.3f} {mean['after', 'p5']:>10.3f}  "
              f"{mean['before', 'rr']:>10.3f} {mean['after', 'rr']:>10.3f}")
    print("\nper query (P@5 / RR, before -> after):")
    for r in rows:
        print(f"  [{r['split']:<7}] {r['kind']:<10} {r['query']:<34} "
              f"{r['before']['p5']:.2f}/{r['before']['rr']:.2f} -> {r['after']['p5']:.2f}/{r['after']['rr']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
