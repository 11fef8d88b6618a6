"""Ctrl-C and progress during `newsetl ingest`: an interrupted run ends at once with exit 130 and one line saying
what is written and how to resume, and loses nothing; the progress follows articles, not files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.runners.stream import ingest
from tests.conftest import raw_client
from tests.killpoints import child_env

pytestmark = pytest.mark.integration

TOWNS = ["Lyon", "Porto", "Gdansk", "Leeds", "Bergen", "Graz", "Turin", "Malmo"]


def write_articles(folder: Path, files: int, per_file: int) -> int:
    """`files` JSON-lines files of `per_file` small distinct articles each; returns how many articles."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        lines = []
        for i in range(per_file):
            n = f * per_file + i
            town = TOWNS[n % len(TOWNS)]
            lines.append(json.dumps({"id": f"a{n}", "title": f"{town} opens bridge {n}", "published": "2019-06-25",
                                     "text": f"The mayor of {town} opened bridge number {n} on Monday after "
                                             f"{n % 9 + 2} years of works and a long public debate about its cost."}))
        (folder / f"wire-{f:03d}.jsonl").write_text("\n".join(lines) + "\n")
    return files * per_file


def indexed_count(client, alias: str) -> int:
    if not client.indices.exists(index=alias):
        return 0
    client.indices.refresh(index=alias)
    return int(client.count(index=alias)["count"])


@pytest.mark.timeout(600)
def test_ctrl_c_ends_an_ingest_with_130_and_a_summary_and_a_rerun_completes_it(es_settings, tmp_path):
    folder = tmp_path / "in"
    total = write_articles(folder, files=30, per_file=100)
    client = raw_client(es_settings)
    code = "import sys; from pipeline.cli.main import main; sys.exit(main())"  # as the console script does
    # A session of its own, so that the signal goes to the whole process group as a terminal's Ctrl-C does: the
    # run and its NER workers.
    # SIGINT's default disposition: a test run started in the background (`make test &`, nohup) ignores SIGINT,
    # children inherit that, and Python then installs no KeyboardInterrupt handler. A terminal's foreground job has it.
    child = subprocess.Popen([sys.executable, "-c", code, "ingest", str(folder)], env=child_env(es_settings),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # Interrupted once two bulk chunks (500 each) are visible: the first chunk's outcomes are counted by then.
        while child.poll() is None and indexed_count(client, es_settings.index.alias) < 1000:
            time.sleep(0.2)
        assert child.poll() is None, "the run ended before it could be interrupted: give it more articles"
        os.killpg(child.pid, signal.SIGINT)
        sent = time.monotonic()
        try:
            out, err = child.communicate(timeout=60)  # a hang guard, not a speed target (measured in the docs)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            pytest.fail(f"no exit 60 s after SIGINT; stderr: {child.communicate()[1][-3000:]}")
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130, err[-2000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert lines[0].startswith("interrupted: ") and f"newsetl ingest {folder}" in lines[0]
    written = int(lines[0].split("interrupted: ")[1].split()[0])
    assert 500 <= written < total and out == "", (lines[0], took)
    print(f"SIGINT to exit: {took:.2f} s; {lines[0]}")

    # Nothing lost: the next run writes the rest, and finds what the interrupted one wrote unchanged.
    time.sleep(0.5)
    report = ingest([folder], es_settings)
    assert report.indexed + report.unchanged == total and report.rejected == 0
    assert report.unchanged >= written
    assert indexed_count(client, es_settings.index.alias) == total


def test_progress_counts_articles_and_gives_the_total_once_known(es_settings, tmp_path):
    folder = tmp_path / "in"
    write_articles(folder, files=2, per_file=3)
    (folder / "note.txt").write_text("date 2019-06-25\nThe mayor of Porto opened a tram line on Monday.")
    (folder / "empty.txt").write_bytes(b"")  # a rejected file is one article read too
    calls: list[tuple[int, int | None]] = []
    ingest([folder], es_settings, on_progress=lambda done, total: calls.append((done, total)))
    assert [done for done, _ in calls[:-1]] == list(range(1, 9))  # 6 JSONL articles, one text, one empty file
    assert all(total is None for _, total in calls[:-1]) and calls[-1] == (8, 8)


# "Exception ignored in: <generator ...>" is what Python prints for an exception in a generator closed by garbage
# collection; pytest reports it as this warning, made an error here.
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_the_run_closes_its_readers_before_it_reports_and_a_second_ctrl_c_then_is_ignored(es_settings, tmp_path,
                                                                                         monkeypatch):
    from pipeline.runners.core import Collection, Run
    from pipeline.runners.stream import Interrupted

    folder = tmp_path / "in"
    # more files than the first chunk the unchanged-check reads (500 articles), so the reader is still open
    write_articles(folder, files=3, per_file=300)
    closed: list[str] = []

    def index(self, articles):
        next(iter(articles))  # the readers are open: one article is on its way
        raise KeyboardInterrupt  # the user's Ctrl-C

    def close(self):
        closed.append("fetcher")
        raise KeyboardInterrupt  # a second Ctrl-C while the fetcher closes

    monkeypatch.setattr(Run, "enrich", lambda self, articles: articles)
    monkeypatch.setattr(Run, "index", index)
    monkeypatch.setattr(Collection, "close", close)
    with pytest.raises(Interrupted):
        ingest([folder], es_settings)
    # closed while the run still held them, not when garbage collection got to them at the interpreter's exit
    # (where the second Ctrl-C printed "Exception ignored in: <generator object Run.units>" and a traceback)
    assert closed == ["fetcher"]
