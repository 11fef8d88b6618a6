"""End-to-end `ingest` throughput on a real news corpus, first run and unchanged re-run.

    .venv/bin/python bench/ingest_throughput.py ../shared/corpora/news_bbc2225/bbc2225.jsonl.gz --n 500

Reads the corpus by path (it is never copied into the project), writes N articles as a temporary JSONL landing
file, and ingests it twice into a fresh alias on a fresh embedded server: prints articles/s, words/s, the
stage split of the first run and how long the unchanged re-run takes. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from pipeline.index.embedded import ensure_embedded_server, stop_embedded_server
from pipeline.run import ingest
from pipeline.settings import PROJECT_ROOT, load_settings


def corpus_records(path: Path, n: int):
    """The first n articles of a BBC or Reuters JSONL corpus, mapped onto the landing JSONL format."""
    opener = gzip.open if path.name.endswith(".gz") else open
    count = 0
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            text = record.get("text") or record.get("body")
            if not text:
                continue
            yield {
                "id": str(record.get("id") or record.get("newid")),
                "title": record.get("title") or "",
                "text": text,
                **({"published": record["date"]} if record.get("date") else {}),
                "source": path.stem.split(".")[0],
            }
            count += 1
            if count >= n:
                return


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="bbc2225.jsonl.gz or reuters21578.jsonl.gz")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsetl-bench-"))
    try:
        landing = work / "landing.jsonl"
        with landing.open("w", encoding="utf-8") as out:
            words = 0
            for record in corpus_records(args.corpus, args.n):
                words += len(record["text"].split()) + len(record["title"].split())
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        url = ensure_embedded_server(work / "es")
        settings = load_settings(PROJECT_ROOT / "config" / "settings.yml", env={
            **{k: v for k, v in os.environ.items() if k.startswith("NEWSETL_NLP")},
            "ELASTICSEARCH_URL": url, "NEWSETL_DATA_DIR": str(work / "data"), "NEWSETL_INDEX_ALIAS": "bench",
        })
        from pipeline.nlp import load_nlp

        load_nlp(settings.nlp.model)  # model load is a one-off per process, not per article
        started = time.perf_counter()
        first = ingest([landing], settings)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        second = ingest([landing], settings)
        second_s = time.perf_counter() - started
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(f"machine      {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
        print(f"corpus       {args.corpus.name}, {first.seen} articles, {words} words")
        print(f"nlp          {settings.nlp.model}, batch {settings.nlp.batch_size}, processes {settings.nlp.n_process}")
        print(f"first run    {first_s:.1f} s  {first.seen / first_s:.1f} articles/s  {words / first_s:,.0f} words/s  "
              f"indexed {first.indexed} rejected {first.rejected}")
        print(f"re-run       {second_s:.1f} s  ({second_s / first_s:.2f} of first)  unchanged {second.unchanged}")
        print(f"peak RSS     {rss_mb:.0f} MB")
    finally:
        stop_embedded_server(work / "es")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
