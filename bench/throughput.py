"""The pipeline against the NER ceiling, as the user runs it: whole commands, measured in one run on one machine.

    .venv/bin/python bench/throughput.py --corpus bbc --n 1000 --repeat 2
    .venv/bin/python bench/throughput.py --corpus bbc --n 5000 --repeat 1 --skip-dag
    .venv/bin/python bench/throughput.py --corpus reuters --n 2000

Each round, in this order (so drift on a shared machine hits every figure alike):

(a) the ceiling: a fresh Python process loads the model (tokenizer + tok2vec + ner, the components `newsetl`
    loads), then times spaCy NER alone over the exact texts the pipeline hands to NER, with
    `nlp.pipe(n_process=<cores>)`; only the NER is timed, not the start or the model load;
(b) `newsetl ingest <landing folder>`, the whole command, into a fresh alias of one embedded server;
(c) the same command again over the unchanged input (the re-run);
(d) `airflow dags test news_nightly <day>`, the whole command, on the same landing folder, into another fresh alias
    (its metadata database is created before timing); `--skip-dag` leaves it out;
(e) once, after the rounds: the cost of mentioned dates, above all of the dependency parser that gives bare
    weekdays and months their direction (pipeline.enrich.clauses). A fresh process loads the model and its clause
    parser and times, in that one process (CPU seconds, best of 2), NER alone (`nlp.pipe`) over the same texts, the
    date finder without the parser, and with it; it prints the parser's CPU and all date work as shares of that NER
    CPU. Articles without a publication date are dated `DAY` for it (BBC's carry none, and an undated article has
    no relative date to resolve, which would leave the parser unmeasured). `--dates-only` runs (e) alone.

The best of `--repeat` rounds of each is compared: words/s of each, (b)/(a), (d)/(a), (d)/(b), (c)/(b); the same
ratios by CPU seconds (each command's process tree plus the embedded server's CPU during it; for (a) the NER's own
CPU), which do not move with the machine's load the way wall seconds do. Memory is
the peak PSS (proportional set size) of the command's process tree, sampled every 100 ms: pages forked NER
workers share with their parent are counted once. The embedded server is a separate daemon and not counted.
The corpora are read by path from ../shared/corpora and never copied into the project.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psutil

from pipeline.clean.article import clean_article
from pipeline.collect.files import read_articles
from pipeline.core.records import Article
from pipeline.core.settings import PROJECT_ROOT, load_settings
from pipeline.enrich.articles import text_for_nlp
from pipeline.index.embedded import ensure_embedded_server, stop_embedded_server

CORPORA_DIR = PROJECT_ROOT.parent / "shared" / "corpora"
CORPORA = {"bbc": "news_bbc2225/bbc2225.jsonl.gz", "reuters": "news_reuters21578/reuters21578.jsonl.gz"}
DAY = "2019-06-25"
BIN = Path(sys.executable).parent

# Run in a fresh interpreter: load the model, then time NER alone. Prints {"seconds", "cpu", "entities"}: wall and
# CPU seconds (this process and its NER workers, which spaCy joins before pipe() returns) of the NER alone.
CEILING = """
import json, resource, sys, time
from pipeline.core.settings import PROJECT_ROOT, load_settings
from pipeline.enrich.nlp import load_nlp
def cpu():
    return sum(t for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for t in resource.getrusage(who)[:2])
settings = load_settings(PROJECT_ROOT / "config" / "settings.yml")
texts = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
nlp = load_nlp(settings.nlp.model)
started, cpu_started = time.perf_counter(), cpu()
entities = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=settings.nlp.batch_size, n_process=int(sys.argv[2])))
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": cpu() - cpu_started, "entities": entities}))
"""


# (e): NER alone, then the date finder without and with the clause parser, in one fresh process, over the texts and
# publication days of argv[1] (JSON lines [text, "YYYY-MM-DD"]). Prints {"ner", "without", "with", "parsed"}: CPU
# seconds, best of 2 each, and the sentences parsed per pass.
DATES_COST = """
import json, sys, time
from datetime import date
from pipeline.core.settings import PROJECT_ROOT, load_settings
from pipeline.enrich.clauses import ClauseDirection, load_parser
from pipeline.enrich.dates_locale import find_mentioned_dates
from pipeline.enrich.nlp import load_nlp
settings = load_settings(PROJECT_ROOT / "config" / "settings.yml")
pairs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
texts, days = [t for t, _ in pairs], [date.fromisoformat(d) for _, d in pairs]
nlp = load_nlp(settings.nlp.model)
parser = load_parser(nlp)
if parser is None:
    sys.exit("the model has no parser: dates use word cues only")
best = {"ner": [], "without": [], "with": []}
parsed = 0
for _round in range(2):
    started = time.process_time()
    for _doc in nlp.pipe(texts, batch_size=settings.nlp.batch_size):
        pass
    best["ner"].append(time.process_time() - started)
    started = time.process_time()
    for text, day in zip(texts, days):
        find_mentioned_dates(text, day, "en")
    best["without"].append(time.process_time() - started)
    started, parsed = time.process_time(), 0
    for text, day in zip(texts, days):
        direction = ClauseDirection(parser, text)
        find_mentioned_dates(text, day, "en", direction=direction)
        parsed += direction.parsed
    best["with"].append(time.process_time() - started)
print(json.dumps({**{k: min(v) for k, v in best.items()}, "parsed": parsed}))
"""


def dates_cost(work: Path, texts: list[str], days: list[str], env: dict[str, str]) -> None:
    """(e): the CPU of mentioned dates and of their clause parser against NER alone, in one fresh process."""
    path = work / "dated-texts.jsonl"
    path.write_text("".join(json.dumps([t, d]) + "\n" for t, d in zip(texts, days, strict=True)), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", DATES_COST, str(path)], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        sys.exit(f"the dates cost run failed:\n{done.stderr[-3000:]}")
    cost = json.loads(done.stdout.strip().splitlines()[-1])
    parser = cost["with"] - cost["without"]
    print(f"(e) dates, one process, CPU s (best of 2): NER alone {cost['ner']:.2f}; dates without the parser "
          f"{cost['without']:.2f}, with it {cost['with']:.2f} ({cost['parsed']} sentences parsed in {len(texts)} "
          f"articles)")
    print(f"ratio  parser/NER CPU {parser / cost['ner']:.2f}; all date work/NER CPU {cost['with'] / cost['ner']:.2f}")


def corpus_records(path: Path, n: int) -> Iterator[dict[str, Any]]:
    """The first n articles with text of a BBC or Reuters JSONL corpus, in the landing JSONL format."""
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
                **({"published": record["date"]} if record.get("date") else {}),
                "source": path.name.split(".")[0],
            }
            count += 1
            if count >= n:
                return


class PeakPss:
    """Peak memory of a process and all its children, sampled in a background thread (PSS and, for comparison,
    the plain sum of RSS, which counts the shared model pages once per process)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.peak, self.peak_rss, self._stop = pid, interval, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.pid)
            while not self._stop.is_set():
                total = total_rss = 0
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):  # a worker that just exited
                        info = proc.memory_full_info()
                        total += info.pss
                        total_rss += info.rss
                self.peak = max(self.peak, total)
                self.peak_rss = max(self.peak_rss, total_rss)
                time.sleep(self.interval)

    def __enter__(self) -> PeakPss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def children_cpu() -> float:
    """User + system CPU seconds of every finished child process of this benchmark (and their waited-for children:
    the NER workers of a command are counted in it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_process(url: str) -> psutil.Process | None:
    """The process listening on the embedded server's port (its CPU is part of what a command costs)."""
    port = urlparse(url).port
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in process.net_connections()):
                return process
    return None


@dataclass
class Measured:
    """One whole command: wall seconds, CPU seconds of its process tree and of the search server, peak PSS bytes."""

    seconds: float
    cpu: float
    server_cpu: float
    peak: int


def run_command(command: list[str], env: dict[str, str], log: Path, server: psutil.Process | None = None) -> Measured:
    """Wall and CPU seconds and peak PSS of one whole command; a failure stops the benchmark.

    CPU seconds do not depend on what else the machine runs (wall seconds do): they are the load-independent
    check of the wall-clock ratios, and they show how much of a command's work is NER.
    """
    def server_cpu() -> float:
        with contextlib.suppress(psutil.Error):
            return sum(server.cpu_times()[:2]) if server is not None else 0.0
        return 0.0

    with log.open("w") as out:
        cpu_started, server_started, started = children_cpu(), server_cpu(), time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        with PeakPss(process.pid) as memory:
            code = process.wait()
        seconds = time.perf_counter() - started
    if code != 0:
        sys.exit(f"{' '.join(command)} failed (exit {code}); see {log}")
    return Measured(seconds, children_cpu() - cpu_started, server_cpu() - server_started, memory.peak)


def cpu_model() -> str:
    """The CPU's model name (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="bbc")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best of each figure is compared")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="NER processes (default: cores)")
    parser.add_argument("--corpora-dir", type=Path, default=CORPORA_DIR)
    parser.add_argument("--skip-ceiling", action="store_true", help="only the pipeline runs (memory checks)")
    parser.add_argument("--skip-dag", action="store_true", help="leave out the nightly DAG")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) afterwards")
    parser.add_argument("--dates-only", action="store_true", help="only (e), the cost of dates and their parser")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsetl-bench-"))
    try:
        landing = work / "landing"
        (landing / DAY).mkdir(parents=True)
        with (landing / DAY / f"{args.corpus}.jsonl").open("w", encoding="utf-8") as out:
            for record in corpus_records(args.corpora_dir / CORPORA[args.corpus], args.n):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        url = ensure_embedded_server(work / "es")
        settings = load_settings(PROJECT_ROOT / "config" / "settings.yml")

        # The exact texts NER sees in (b): cleaned articles, title + body, capped like the pipeline caps them.
        now = datetime.now(UTC)
        articles = [a for raw in read_articles(landing / DAY / f"{args.corpus}.jsonl", "bench")
                    if isinstance(a := clean_article(raw, now=now), Article)]
        texts = [text_for_nlp(a, settings.nlp.max_chars) for a in articles]
        days = [(a.published_at or DAY)[:10] for a in articles]
        words = sum(len(t.split()) for t in texts)
        (work / "texts.jsonl").write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")

        base = {**os.environ, "ELASTICSEARCH_URL": url, "NEWSETL_LANDING_DIR": str(landing),
                "NEWSETL_NLP_PROCESSES": str(args.processes), "PYTHONPATH": str(PROJECT_ROOT),
                "AIRFLOW_HOME": str(work / "airflow"), "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        if not args.skip_dag and not args.dates_only:
            run_command([str(BIN / "airflow"), "db", "migrate"], base, work / "db-migrate.log")

        print(f"machine      {cpu_model()}, {os.cpu_count()} cores, {psutil.getloadavg()[0]:.1f} load at start, "
              f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}")
        print(f"corpus       {args.corpus}: {len(texts)} articles, {words:,} words (title + body as NER reads them)")
        print(f"nlp          {settings.nlp.model}, batch {settings.nlp.batch_size} articles / "
              f"{settings.nlp.batch_words} words, processes {args.processes}", flush=True)

        if args.dates_only:
            dates_cost(work, texts, days, base)
            return
        server = server_process(url)
        runs: dict[str, list[Measured]] = {"ceiling": [], "cli": [], "rerun": [], "dag": []}

        def report(attempt: int, kind: str, measured: Measured) -> None:
            runs[kind].append(measured)
            peak = f"  peak PSS {measured.peak / 2**20:,.0f} MiB" if measured.peak else ""
            print(f"  round {attempt + 1}  {kind:8s} {measured.seconds:6.1f} s  cpu {measured.cpu:6.1f} s "
                  f"+ server {measured.server_cpu:5.1f} s{peak}", flush=True)

        for attempt in range(args.repeat):
            if not args.skip_ceiling:
                done = subprocess.run([sys.executable, "-c", CEILING, str(work / "texts.jsonl"),
                                       str(args.processes)], env=base, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    sys.exit(f"the ceiling run failed:\n{done.stderr[-3000:]}")
                timed = json.loads(done.stdout.strip().splitlines()[-1])
                report(attempt, "ceiling", Measured(timed["seconds"], timed["cpu"], 0.0, 0))
            env = {**base, "NEWSETL_INDEX_ALIAS": f"bench-cli-{attempt}",
                   "NEWSETL_DATA_DIR": str(work / f"data-cli-{attempt}")}
            for kind in ("cli", "rerun"):
                report(attempt, kind, run_command([str(BIN / "newsetl"), "ingest", str(landing)], env,
                                                  work / f"{kind}-{attempt}.log", server))
            if not args.skip_dag:
                env = {**base, "NEWSETL_INDEX_ALIAS": f"bench-dag-{attempt}",
                       "NEWSETL_DATA_DIR": str(work / f"data-dag-{attempt}")}
                report(attempt, "dag", run_command([str(BIN / "airflow"), "dags", "test", "news_nightly", DAY], env,
                                                   work / f"dag-{attempt}.log", server))

        best = {kind: min(measured, key=lambda m: m.seconds) for kind, measured in runs.items() if measured}
        least_cpu = {kind: min(m.cpu + m.server_cpu for m in measured) for kind, measured in runs.items() if measured}

        def line(label: str, kind: str) -> str:
            times = ", ".join(f"{m.seconds:.1f}" for m in runs[kind])
            peak = max(m.peak for m in runs[kind])
            memory = f"  peak PSS {peak / 2**20:,.0f} MiB" if peak else ""
            return (f"{label} best {best[kind].seconds:6.1f} s  {words / best[kind].seconds:8,.0f} words/s  "
                    f"cpu {least_cpu[kind]:6.1f} s  (runs: {times}){memory}")

        if "ceiling" in best:
            print(line("(a) ceiling, NER alone, model loaded   ", "ceiling"))
        print(line("(b) newsetl ingest, whole command       ", "cli"))
        print(line("(c) newsetl ingest again, unchanged     ", "rerun"))
        if "dag" in best:
            print(line("(d) airflow dags test, whole command    ", "dag"))
        if "ceiling" in best:
            print(f"ratio  ingest/ceiling {best['ceiling'].seconds / best['cli'].seconds:.2f} (target >= 0.90); "
                  f"by CPU {least_cpu['ceiling'] / least_cpu['cli']:.2f} (the share of the command's CPU that NER "
                  "alone needs; on a shared machine the CPU ratio is the steadier one)")
            if "dag" in best:
                print(f"ratio  dag/ceiling    {best['ceiling'].seconds / best['dag'].seconds:.2f} (target >= 0.85); "
                      f"by CPU {least_cpu['ceiling'] / least_cpu['dag']:.2f}")
        if "dag" in best:
            print(f"ratio  dag/ingest     {best['cli'].seconds / best['dag'].seconds:.2f} (target >= 0.90); "
                  f"by CPU {least_cpu['cli'] / least_cpu['dag']:.2f}")
        print(f"re-run {best['rerun'].seconds / best['cli'].seconds:.3f} of the first run (target <= 0.05); "
              f"by CPU {least_cpu['rerun'] / least_cpu['cli']:.3f}", flush=True)
        dates_cost(work, texts, days, base)
    finally:
        stop_embedded_server(work / "es")
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
