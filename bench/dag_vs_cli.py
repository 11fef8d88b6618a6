"""The nightly DAG against `newsetl ingest` on the same folder: whole commands, timed from outside, one machine.

    .venv/bin/python bench/dag_vs_cli.py --n 1000 --repeat 2
    .venv/bin/python bench/dag_vs_cli.py --baseline /tmp/old   # also a checkout of an earlier commit, same runs

Both commands read the same landing folder (`<day>/bbc.jsonl`, the first n BBC articles) into fresh aliases of
one embedded server; `airflow dags test news_nightly <day>` runs on SQLite with this repository's dags/ (its
metadata database is created before timing). Runs alternate CLI, DAG, CLI, DAG, ... so drift on the machine hits
both; the best of `--repeat` runs of each is compared. `--baseline DIR` adds the same two commands run with the code
of another checkout (`git worktree add DIR <commit>`), interleaved with these, so a change is measured against
its parent on the same machine in the same minutes. Prints seconds, words/s and the DAG's speed as a fraction
of the CLI's (target >= 0.90). The corpus is read by path from ../shared/corpora and never copied into the project.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.core.settings import PROJECT_ROOT
from pipeline.index.embedded import ensure_embedded_server, stop_embedded_server

CORPUS = PROJECT_ROOT.parent / "shared" / "corpora" / "news_bbc2225" / "bbc2225.jsonl.gz"
DAY = "2019-06-25"
BIN = Path(sys.executable).parent


def write_landing(folder: Path, n: int) -> int:
    """The first n BBC articles as one JSONL landing file for DAY; returns the words of title + text."""
    (folder / DAY).mkdir(parents=True)
    words = 0
    with gzip.open(CORPUS, "rt", encoding="utf-8") as source, (folder / DAY / "bbc.jsonl").open("w") as out:
        for count, line in enumerate(source):
            if count >= n:
                break
            record = json.loads(line)
            out.write(json.dumps({"id": str(record["id"]), "title": record.get("title") or "",
                                  "text": record["text"], "published": DAY}) + "\n")
            words += len((record.get("title") or "").split()) + len(record["text"].split())
    return words


def run(command: list[str], env: dict[str, str], log: Path) -> float:
    """Wall seconds of one whole command; its output goes to `log`, a failure stops the benchmark."""
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed (exit {done.returncode}); see {log}")
    return seconds


# Run the CLI of whatever checkout is first on sys.path (pipeline.cli was a module before it became a package).
CLI_OF_CHECKOUT = ("import importlib, sys\ntry:\n    main = importlib.import_module('pipeline.cli.main').main\n"
                   "except ModuleNotFoundError:\n    main = importlib.import_module('pipeline.cli').main\n"
                   "sys.exit(main(sys.argv[1:]))")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) afterwards")
    parser.add_argument("--baseline", type=Path, help="another checkout whose CLI and DAG run too, interleaved")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsetl-dagbench-"))
    try:
        words = write_landing(work / "landing", args.n)
        url = ensure_embedded_server(work / "es")
        base = {**os.environ, "ELASTICSEARCH_URL": url, "NEWSETL_LANDING_DIR": str(work / "landing"),
                "AIRFLOW_HOME": str(work / "airflow"), "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        run([str(BIN / "airflow"), "db", "migrate"], base, work / "db-migrate.log")
        kinds = ["cli", "dag"] + (["baseline-cli", "baseline-dag"] if args.baseline else [])
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for attempt in range(args.repeat):
            for kind in kinds:
                env = {**base, "NEWSETL_INDEX_ALIAS": f"bench-{kind}-{attempt}",
                       "NEWSETL_DATA_DIR": str(work / f"data-{kind}-{attempt}")}
                if kind.startswith("baseline"):
                    env.update(PYTHONPATH=str(args.baseline), AIRFLOW__CORE__DAGS_FOLDER=str(args.baseline / "dags"))
                command = ([sys.executable, "-c", CLI_OF_CHECKOUT, "ingest", str(work / "landing")]
                           if kind.endswith("cli") else [str(BIN / "airflow"), "dags", "test", "news_nightly", DAY])
                times[kind].append(run(command, env, work / f"{kind}-{attempt}.log"))
                print(f"  {kind} run {attempt + 1}: {times[kind][-1]:6.1f} s", flush=True)
        print(f"machine  {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}")
        print(f"corpus   {args.n} BBC articles, {words:,} words")
        for prefix, label in (("", "this checkout"), ("baseline-", f"baseline {args.baseline}")):
            if f"{prefix}cli" not in times:
                continue
            cli, dag = min(times[f"{prefix}cli"]), min(times[f"{prefix}dag"])
            print(f"{label}")
            print(f"  cli    newsetl ingest          best {cli:6.1f} s  {words / cli:8,.0f} words/s  "
                  f"(runs: {', '.join(f'{t:.1f}' for t in times[f'{prefix}cli'])})")
            print(f"  dag    airflow dags test       best {dag:6.1f} s  {words / dag:8,.0f} words/s  "
                  f"(runs: {', '.join(f'{t:.1f}' for t in times[f'{prefix}dag'])})")
            print(f"  ratio  the DAG runs at {cli / dag:.2f} of the CLI's speed (target >= 0.90)")
    finally:
        stop_embedded_server(work / "es")
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
