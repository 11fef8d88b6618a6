"""End-to-end throughput against the NLP ceiling, measured in the same run on the same texts.

    .venv/bin/python bench/throughput.py --corpus bbc --n 1000
    .venv/bin/python bench/throughput.py --corpus reuters --n 2000 --processes 2

(a) the ceiling: spaCy NER alone (tokenizer + tok2vec + ner, the components `newsetl` loads) over the exact texts
    the pipeline hands to NER, with `nlp.pipe` and one process per core;
(b) `newsetl ingest` end to end (read, clean, skip unchanged, NER, entity rules, dates, bulk index) into a fresh
    alias on a fresh embedded server, then (c) the same ingest again over the unchanged input;
(d) the cost of the dependency parser that gives bare weekdays and months their direction (pipeline.enrich.clauses):
    the mentioned-date resolver over the same texts with and without it, in this process, as CPU seconds and as a
    share of the ceiling's CPU seconds.

Prints words/s of (a) and (b), their ratio, articles/s, and peak PSS of the whole process tree (parent plus NER
workers, PSS sampled every 100 ms; the embedded server runs as its own daemon and is not counted). The corpora are read
by path from ../shared/corpora and never copied into the project. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psutil

from pipeline.clean.article import clean_article
from pipeline.collect.files import read_articles
from pipeline.core.records import Article
from pipeline.core.settings import PROJECT_ROOT, load_settings
from pipeline.enrich.articles import text_for_nlp
from pipeline.enrich.clauses import ClauseDirection, load_parser
from pipeline.enrich.dates import find_dates
from pipeline.enrich.nlp import load_nlp
from pipeline.index.embedded import ensure_embedded_server, stop_embedded_server
from pipeline.runners.stream import ingest

CORPORA_DIR = PROJECT_ROOT.parent / "shared" / "corpora"
CORPORA = {"bbc": "news_bbc2225/bbc2225.jsonl.gz", "reuters": "news_reuters21578/reuters21578.jsonl.gz"}

T = TypeVar("T")


def corpus_records(path: Path, n: int, published: str | None = None) -> Iterator[dict[str, Any]]:
    """The first n articles with text of a BBC or Reuters JSONL corpus, in the landing JSONL format; `published`
    dates the records that carry no date (BBC's carry none: undated articles get no relative dates resolved, so
    the date resolver and its parser would not be measured)."""
    count = 0
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            text = record.get("text") or record.get("body")
            if not text or not text.strip():
                continue
            yield {
                "id": str(record.get("id") or record.get("newid")),
                "title": record.get("title") or "",
                "text": text,
                **({"published": record["date"]} if record.get("date") else
                   {"published": published} if published else {}),
                "source": path.name.split(".")[0],
            }
            count += 1
            if count >= n:
                return


class PeakRss:
    """Peak memory of this process and all its children, sampled in a background thread.

    Counts PSS (proportional set size): pages that forked NER workers share with the parent are counted once,
    where a sum of RSS would count the loaded model once per process.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak, self.peak_rss, self._stop = interval, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = total_rss = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker that just exited
                    info = proc.memory_full_info()
                    total += info.pss
                    total_rss += info.rss
            self.peak = max(self.peak, total)
            self.peak_rss = max(self.peak_rss, total_rss)  # for comparison: counts shared pages once per process
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        """Peak in MiB."""
        return self.peak / 2**20


def cpu_model() -> str:
    """The CPU's model name (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn: Callable[[], T]) -> tuple[T, float, str, float]:
    """Run fn; return its result, wall seconds, the peak memory of the process tree meanwhile (as text) and the CPU
    seconds of this process and of its worker processes once they have exited: on a shared machine wall time
    moves with other loads, CPU time much less."""
    with PeakRss() as rss:
        started, cpu = time.perf_counter(), _cpu()
        result = fn()
        seconds = time.perf_counter() - started
    return result, seconds, f"{rss.mb:,.0f} MiB (RSS sum {rss.peak_rss / 2**20:,.0f})", _cpu() - cpu


def parse_cost(articles: list[Article], texts: list[str], nlp, ceiling_cpu_s: float | None) -> None:
    """(d): the date resolver with and without the clause parser over the texts, best of 2, one process."""
    parser = load_parser(nlp)
    if parser is None:
        print("(d) parser   the model has no parser: dates use word cues only")
        return
    days = [datetime.fromisoformat(a.published_at).date() if a.published_at else None for a in articles]
    timings: dict[str, list[float]] = {"without": [], "with": []}
    parsed = 0
    for _round in range(2):
        started = time.process_time()
        for text, day in zip(texts, days, strict=True):
            find_dates(text, day)
        timings["without"].append(time.process_time() - started)
        started, parsed = time.process_time(), 0
        for text, day in zip(texts, days, strict=True):
            direction = ClauseDirection(parser, text)
            find_dates(text, day, direction=direction)
            parsed += direction.parsed
        timings["with"].append(time.process_time() - started)
    extra = min(timings["with"]) - min(timings["without"])
    share = f", {extra / ceiling_cpu_s:.3f} of the ceiling's CPU seconds" if ceiling_cpu_s else ""
    print(f"(d) parser   {parsed} sentences parsed in {len(texts)} articles; dates {min(timings['without']):.2f} s "
          f"without, {min(timings['with']):.2f} s with the parser: +{extra:.2f} CPU s{share}")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="bbc")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="NER processes (default: cores)")
    parser.add_argument("--batch-size", type=int, help="nlp.pipe batch size (default: settings.yml)")
    parser.add_argument("--corpora-dir", type=Path, default=CORPORA_DIR)
    parser.add_argument("--skip-ceiling", action="store_true", help="only the end-to-end runs (memory checks)")
    parser.add_argument("--published", help="publication date (YYYY-MM-DD) for records without one")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsetl-bench-"))
    try:
        landing = work / "landing.jsonl"
        with landing.open("w", encoding="utf-8") as out:
            for record in corpus_records(args.corpora_dir / CORPORA[args.corpus], args.n, args.published):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        url = ensure_embedded_server(work / "es")
        settings = load_settings(PROJECT_ROOT / "config" / "settings.yml", env={
            "ELASTICSEARCH_URL": url, "NEWSETL_DATA_DIR": str(work / "data"), "NEWSETL_INDEX_ALIAS": "bench",
            "NEWSETL_NLP_PROCESSES": str(args.processes),
            **({"NEWSETL_NLP_BATCH_SIZE": str(args.batch_size)} if args.batch_size else {}),
        })
        nlp = load_nlp(settings.nlp.model)  # loading the model is a one-off per process, for (a) and (b) alike

        # The exact texts NER sees in (b): cleaned articles, title + body, capped like the pipeline caps them.
        now = datetime.now(UTC)
        articles = [a for raw in read_articles(landing, "bench")
                    if isinstance(a := clean_article(raw, now=now), Article)]
        texts = [text_for_nlp(a, settings.nlp.max_chars) for a in articles]
        words = sum(len(t.split()) for t in texts)

        print(f"machine      {cpu_model()}, {os.cpu_count()} cores, "
              f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}")
        print(f"corpus       {args.corpus}: {len(texts)} articles, {words:,} words (title + body as NER reads them)")
        print(f"nlp          {settings.nlp.model} {nlp.pipe_names}, batch {settings.nlp.batch_size} articles / "
              f"{settings.nlp.batch_words} words, "
              f"processes {settings.nlp.processes}")

        # The pipeline runs first, in a clean process: the ceiling's spaCy workers hand Docs back to this process,
        # whose vocabulary then grows with every string in them, which would blur the pipeline's memory figure.
        first, first_s, first_rss, first_cpu = timed(lambda: ingest([landing], settings))
        second, second_s, _, _ = timed(lambda: ingest([landing], settings))
        ceiling_s = None
        if not args.skip_ceiling:
            def ceiling() -> int:
                return sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=settings.nlp.batch_size,
                                                              n_process=args.processes))

            entities, ceiling_s, ceiling_rss, ceiling_cpu = timed(ceiling)
            print(f"(a) ceiling  {ceiling_s:6.1f} s  {len(texts) / ceiling_s:6.1f} articles/s  "
                  f"{words / ceiling_s:8,.0f} words/s  peak PSS {ceiling_rss}  ({entities:,} entities)")
        ratio = (f"  ratio {ceiling_s / first_s:.2f} of ceiling (CPU seconds: {first_cpu:.1f} vs "
                 f"{ceiling_cpu:.1f}, ratio {ceiling_cpu / first_cpu:.2f}; the search server's CPU is not counted)"
                 if ceiling_s else "")
        print(f"(b) ingest   {first_s:6.1f} s  {first.seen / first_s:6.1f} articles/s  "
              f"{words / first_s:8,.0f} words/s  peak PSS {first_rss}{ratio}")
        print(f"             indexed {first.indexed}, rejected {first.rejected}")
        print(f"(c) re-run   {second_s:6.1f} s  {second_s / first_s:.3f} of the first run  "
              f"(unchanged {second.unchanged}, indexed {second.indexed})")
        parse_cost(articles, texts, nlp, ceiling_cpu if ceiling_s else None)
    finally:
        stop_embedded_server(work / "es")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
