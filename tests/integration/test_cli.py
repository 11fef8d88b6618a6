"""The newsetl command line: ingest, search, and the exact JSONL contracts of extract and enrich."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli.main import main
from pipeline.index.embedded import free_port
from tests.conftest import REPO, SEED

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(monkeypatch, es_settings, es_url):
    """Point the CLI (which reads settings from the environment) at the test server and alias."""
    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("NEWSETL_INDEX_ALIAS", es_settings.index.alias)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(es_settings.data_dir))
    return es_settings


def run_cli(args, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_then_search_with_filters_and_facets(cli_env, capsys):
    code, out, _ = run_cli(["ingest", str(REPO / "samples" / "landing")], capsys)
    assert code == 0
    assert "seen 5 · indexed 5" in out

    code, out, _ = run_cli(["search", "air defence", "--person", "Hulusi Akar", "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["total"] == 2
    assert all("Hulusi Akar" in hit["entities"]["person"] for hit in result["hits"])
    assert any("«" in frag for hit in result["hits"] for frag in hit["highlight"].get("body", []))
    persons = {f["value"]: f["count"] for f in result["facets"]["person"]}
    assert persons["Hulusi Akar"] == 2

    code, out, _ = run_cli(["search", "--from", "2019-06-25", "--to", "2019-06-25", "--place", "Osaka", "--json"],
                           capsys)
    assert {h["title"] for h in json.loads(out)["hits"]} == {
        "Osaka prepares for G20 summit", "Turkish lira slips as investors weigh U.S. sanctions risk"}

    code, out, _ = run_cli(["search", "--to", "2019-06-24", "--json"], capsys)
    assert [h["title"] for h in json.loads(out)["hits"]] == ["Dock workers in Rotterdam end three-day strike"]

    code, out, _ = run_cli(["search", "Rotterdam"], capsys)
    assert code == 0 and "Dock workers in Rotterdam end three-day strike" in out and "Top facet values" in out


def test_ingest_reports_rejections_but_succeeds(cli_env, capsys, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "ok.txt").write_text("date 2019-06-25\nThe mayor of Lyon opened a new bridge on Monday.")
    code, out, _ = run_cli(["ingest", str(tmp_path), "--json"], capsys)
    report = json.loads(out)
    assert code == 0
    assert (report["indexed"], report["rejected"]) == (1, 1)
    assert report["rejections"][0]["reason"] == "empty file"


def test_ingest_fails_clearly_when_elasticsearch_is_unreachable(monkeypatch, capsys, tmp_path):
    url = f"http://elastic:s3cret@127.0.0.1:{free_port()}"  # pragma: allowlist secret
    monkeypatch.setenv("ELASTICSEARCH_URL", url)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(tmp_path))
    code, out, err = run_cli(["ingest", str(SEED)], capsys)
    assert code == 1
    assert "is unreachable" in err and "127.0.0.1" in err
    assert "s3cret" not in err + out


def test_extract_jsonl_contract(cli_env, capsys, monkeypatch):
    html = ("<html><head><title>Strike ends</title><meta property='article:published_time' content='2019-06-24'>"
            "<meta name='author' content='By Jane Doe'><meta property='og:site_name' content='Ledger'></head>"
            "<body><article><h1>Strike ends</h1><p>Dock workers returned to work on Monday after a deal "
            "with terminal operators was reached late on Sunday night.</p></article></body></html>")
    stdin = json.dumps({"id": "p1", "url": "https://x.example/a", "html": html}) + "\n" + "not json\n"
    code, out, _ = run_cli(["extract", "--jsonl"], capsys, stdin=stdin, monkeypatch=monkeypatch)
    first, second = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert first["id"] == "p1" and first["title"] == "Strike ends" and first["published"] == "2019-06-24"
    assert first["published_at_source"] == "meta" and first["authors"] == ["Jane Doe"]
    assert first["site_name"] == "Ledger" and first["language"] is None and first["extractor"] == "trafilatura"
    assert first["locale"] is None
    assert "Dock workers returned to work on Monday" in first["text"]
    assert second["id"] is None and "invalid JSON" in second["error"]


@pytest.mark.parametrize(("line", "error"), [
    ("", "line 1: empty line, expected a JSON object"),
    ("   ", "line 1: empty line, expected a JSON object"),
    (json.dumps({"id": "e", "html": ""}), "empty page"),
    (json.dumps({"id": "w", "html": " \n\t"}), "empty page"),
    (json.dumps({"id": "b", "html": "<html><head><title>Nothing</title></head><body></body></html>"}),
     "no article text found in the HTML page"),
    (json.dumps({"id": "n", "html": None}), "missing 'html' string"),
])
def test_extract_answers_each_bad_line_with_one_error_line(cli_env, capsys, monkeypatch, line, error):
    good = json.dumps({"id": "ok", "html": "<html><body><article><p>Dock workers returned to work on Monday "
                                            "after a deal with terminal operators.</p></article></body></html>"})
    code, out, _ = run_cli(["extract", "--jsonl"], capsys, stdin=f"{line}\n{good}\n", monkeypatch=monkeypatch)
    bad, ok = [json.loads(answer) for answer in out.splitlines()]
    assert code == 0
    assert bad["error"] == error
    assert bad["id"] == (json.loads(line)["id"] if line.strip() else None)
    assert ok["id"] == "ok" and "error" not in ok and ok["text"].startswith("Dock workers")


def test_extract_text_does_not_repeat_the_headline(cli_env, capsys, monkeypatch):
    html = ("<html><head><title>Strike ends at the port - Ledger</title>"
            "<meta property='og:site_name' content='Ledger'></head><body><article><h1>Strike ends at the port</h1>"
            "<p>Dock workers returned to work on Monday after a deal with terminal operators was reached late on "
            "Sunday night.</p><p>Strike ends at the port</p><p>Ships waiting offshore began to berth.</p>"
            "</article></body></html>")
    code, out, _ = run_cli(["extract", "--jsonl"], capsys, stdin=json.dumps({"id": "p", "html": html}) + "\n",
                           monkeypatch=monkeypatch)
    (page,) = [json.loads(answer) for answer in out.splitlines()]
    assert page["title"] == "Strike ends at the port"
    assert page["text"].startswith("Dock workers returned")
    assert "\n\nStrike ends at the port\n\n" in page["text"]  # only a leading copy is the headline


def test_enrich_jsonl_contract_on_the_seed(cli_env, capsys, monkeypatch):
    text = SEED.read_text(encoding="utf-8").split("2019-06-25", 1)[1].strip()
    stdin = json.dumps({"id": "seed", "text": text, "published": "2019-06-25"}) + "\n"
    code, out, _ = run_cli(["enrich", "--jsonl"], capsys, stdin=stdin, monkeypatch=monkeypatch)
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and record["id"] == "seed"
    place_fields = {"geonames_id", "country_code", "country", "lat", "lon"}
    for entity in record["entities"]:
        # A resolved place carries all its place fields, a demonym its country, any other mention none of them.
        assert set(entity) - place_fields == {"text", "label", "start", "end", "canonical", "id"}
        assert set(entity) & place_fields in (set(), place_fields, {"country_code", "country"})
        assert text[entity["start"]:entity["end"]] == entity["text"]
        assert len(entity["id"]) == 16
    resolved = [e for e in record["entities"] if "geonames_id" in e]
    assert resolved and all(e["label"] in ("GPE", "LOC") and -90 <= e["lat"] <= 90 for e in resolved)
    akar = [e for e in record["entities"] if e["text"] == "Akar"]
    assert akar and {e["canonical"] for e in akar} == {"Hulusi Akar"}
    assert {e["label"] for e in record["entities"] if e["canonical"] == "Donald Trump"} == {"PERSON"}
    dates = {d["text"]: d["value"] for d in record["dates"]}
    assert dates == {"Wednesday": "2019-06-26", "Thursday": "2019-06-27"}
    for d in record["dates"]:
        assert text[d["start"]:d["end"]] == d["text"]


def test_enrich_reads_numeric_dates_in_the_stated_order_or_locale(cli_env, capsys, monkeypatch):
    text = "The deal was signed on 7/8/07, the company said."
    cases = [  # (input keys, the order answered, the value of "7/8/07"; None: left out)
        ({"language": "en-GB"}, "DMY", "2007-08-07"),
        ({"language": "en_US"}, "MDY", "2007-07-08"),
        ({"language": "en"}, None, None),
        ({}, None, None),  # detected as English: no order
        ({"language": "en-GB", "date_order": "mdy"}, "MDY", "2007-07-08"),
        ({"language": "en-ZZ"}, None, None),  # an unknown region says no more than plain "en"
        ({"language": "fr-ZZ"}, "DMY", "2007-08-07"),  # ...nor than plain "fr"
        ({"language": "en-GB", "date_order": "DM"}, "DMY", "2007-08-07"),  # a wrong order: ignored, as by ingest
    ]
    stdin = "".join(json.dumps({"id": i, "text": text, "published": "2019-06-25", **keys}) + "\n"
                    for i, (keys, _order, _value) in enumerate(cases))
    code, out, _ = run_cli(["enrich", "--jsonl"], capsys, stdin=stdin, monkeypatch=monkeypatch)
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["id"] for r in records] == [*range(len(cases))]
    for record, (keys, order, value) in zip(records, cases, strict=True):
        assert record["date_order"] == order, keys
        assert [d["value"] for d in record["dates"] if d["text"] == "7/8/07"] == ([value] if value else []), keys
        assert "error" not in record and ("warning" in record) == ("date_order" in keys and keys["date_order"] == "DM")
    assert records[-1]["warning"] == "'date_order' ignored: date order must be one of DMY, MDY, YMD, got 'DM'"
    assert records[-1]["entities"] is not None

    # extract answers the page's locale as written, which enrich takes as the language
    html = ("<html lang='en-GB'><head><title>Deal signed</title></head><body><article><h1>Deal signed</h1>"
            f"<p>{text} The regulator will rule on it in the autumn, after a consultation.</p></article></body></html>")
    code, out, _ = run_cli(["extract", "--jsonl"], capsys, stdin=json.dumps({"id": "p", "html": html}) + "\n",
                           monkeypatch=monkeypatch)
    (page,) = [json.loads(line) for line in out.splitlines()]
    assert (page["language"], page["locale"]) == ("en", "en-GB")
    stdin = json.dumps({"id": "p", "text": page["text"], "published": "2019-06-25", "language": page["locale"]})
    code, out, _ = run_cli(["enrich", "--jsonl"], capsys, stdin=stdin + "\n", monkeypatch=monkeypatch)
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["date_order"] == "DMY" and {"text": "7/8/07", "value": "2007-08-07"} in [
        {"text": d["text"], "value": d["value"]} for d in record["dates"]]


def test_enrich_across_treats_the_input_as_one_corpus(cli_env, capsys, monkeypatch):
    text = SEED.read_text(encoding="utf-8").split("2019-06-25", 1)[1].strip()
    later = "The talks went on, Akar told reporters on Tuesday. Akar left for Ankara."
    stdin = "".join(json.dumps({"id": i, "text": t, "published": "2019-06-25"}) + "\n"
                    for i, t in (("seed", text), ("later", later), ("bad", None))) + "\n"  # a blank line too

    def people(flags: list[str]) -> dict[str, set[tuple[str, str]]]:
        code, out, _ = run_cli(["enrich", "--jsonl", *flags], capsys, stdin=stdin, monkeypatch=monkeypatch)
        assert code == 0
        records = [json.loads(line) for line in out.splitlines()]
        assert [r["id"] for r in records] == ["seed", "later", "bad", None] and "error" in records[2]
        assert records[3]["error"] == "line 4: empty line, expected a JSON object"
        return {r["id"]: {(e["canonical"], e["id"]) for e in r.get("entities", []) if e["label"] == "PERSON"}
                for r in records}

    # alone, the later article knows only a surname; as one corpus, it is the man the first one names in full
    assert {name for name, _ in people([])["later"]} == {"Akar"}
    across = people(["--across"])
    assert across["later"] and across["later"] <= across["seed"]
    assert {name for name, _ in across["later"]} == {"Hulusi Akar"}


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "newsetl"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("ingest", "search", "extract", "enrich"):
        assert command in result.stdout


def test_ingest_a_url_list_then_list_and_retry_the_quarantine(cli_env, capsys, tmp_path, monkeypatch):
    from tests.newsserver import NewsServer, article_html

    monkeypatch.setenv("NEWSETL_FETCH_DELAY", "0")
    server = NewsServer().start()
    try:
        good = server.add("/a.html", article_html("Lyon opens its bridge", [
            "The mayor of Lyon opened the new Rhone bridge on Tuesday after four years of works."]))
        urls = tmp_path / "tonight.urls"
        urls.write_text(f"# tonight's links\n{good}\n{server.url}/missing.html\n")
        code, out, _ = run_cli(["ingest", str(urls)], capsys)
        assert code == 0 and "indexed 1" in out and "quarantined 1" in out
        assert "HTTP 404" in out

        code, out, _ = run_cli(["quarantine", "list", "--json"], capsys)
        listed = json.loads(out)
        assert listed["total"] == 1
        assert {k: listed["entries"][0][k] for k in ("stage", "ref", "source_kind")} == {
            "stage": "fetch", "ref": f"{server.url}/missing.html", "source_kind": "urls"}
        code, out, _ = run_cli(["quarantine", "list", "--stage", "clean"], capsys)
        assert "The quarantine is empty." in out

        server.add("/missing.html", article_html("Storm floods Brittany", [
            "Storm Miguel brought heavy rain to Brittany on Thursday, and schools in Brest stayed closed."]))
        code, out, _ = run_cli(["quarantine", "retry", "--json"], capsys)
        assert (json.loads(out)["indexed"], json.loads(out)["released"]) == (1, 1)
    finally:
        server.stop()


def test_sources_lists_config_and_rejects_an_unknown_name(cli_env, capsys):
    code, out, _ = run_cli(["sources", "--json"], capsys)
    assert code == 0 and [s["name"] for s in json.loads(out)][0] == "landing"
    code, _, err = run_cli(["ingest", "--source", "nope"], capsys)
    assert code == 2 and "no source named nope" in err


def test_file_names_and_reasons_are_printed_escaped_by_ingest_and_quarantine_list(cli_env, capsys, tmp_path,
                                                                                  monkeypatch):
    import os

    monkeypatch.setenv("COLUMNS", "300")  # no folding inside an escape
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "\x1b[31mred\x1b]0;pwned\x07.txt").write_text("Too short.")  # recolours and retitles a terminal
    with open(os.path.join(os.fsencode(folder), b"caf\xe9\x1b[2J.txt"), "wb") as handle:  # not UTF-8, clears it
        handle.write(b"Short.")
    code, out, _ = run_cli(["ingest", str(folder)], capsys)
    assert code == 0 and "rejected 2" in out
    code, listed, _ = run_cli(["quarantine", "list"], capsys)
    assert code == 0
    for shown in (out, listed):
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\\x1b[31mred\\x1b]0;pwned\\x07.txt" in shown and "caf\\xe9\\x1b[2J.txt" in shown
def test_ingest_source_names_the_source_of_files_given_on_the_command_line(cli_env, capsys, tmp_path):
    wire = tmp_path / "wire.jsonl"
    wire.write_text(json.dumps({"id": "w1", "title": "Harbour strike ends", "published": "2023-02-10",
                                "text": "Dock workers in Rotterdam ended a three-day strike on Friday."}) + "\n")
    code, out, _ = run_cli(["ingest", "--source", "wire-desk", str(wire), "--json"], capsys)
    assert code == 0 and json.loads(out)["indexed"] == 1
    code, out, _ = run_cli(["search", "--source", "WIRE-DESK", "--json"], capsys)
    assert [hit["source"] for hit in json.loads(out)["hits"]] == ["wire-desk"]
    code, _, err = run_cli(["ingest", "--source", "a", "--source", "b", str(wire)], capsys)
    assert code == 2 and "give it once" in err


def test_quarantine_drop_removes_the_entries_it_is_asked_to(cli_env, capsys, tmp_path):
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "bad.jsonl").write_text('{"id": "x", "text": ""}\nnot json\n')
    (landing / "empty.txt").write_text("")
    code, out, _ = run_cli(["ingest", str(landing), "--json"], capsys)
    assert code == 0
    code, out, _ = run_cli(["quarantine", "list", "--json"], capsys)
    stages = sorted(e["stage"] for e in json.loads(out)["entries"])
    assert len(stages) >= 2 and "read" in stages
    code, _, err = run_cli(["quarantine", "drop"], capsys)
    assert code == 2 and "--source, --stage or --all" in err
    # a source with no entries (a typo) drops nothing and says that none is of it
    code, out, _ = run_cli(["quarantine", "drop", "--source", "nope"], capsys)
    assert code == 0 and "dropped 0 quarantine entries: none is of source 'nope'" in " ".join(out.split())
    code, out, _ = run_cli(["quarantine", "drop", "--stage", "read", "--json"], capsys)
    assert code == 0 and json.loads(out)["dropped"] == stages.count("read")
    code, out, _ = run_cli(["quarantine", "list", "--json"], capsys)
    assert sorted(e["stage"] for e in json.loads(out)["entries"]) == [s for s in stages if s != "read"]
    code, out, _ = run_cli(["quarantine", "drop", "--all"], capsys)
    assert code == 0 and f"dropped {len(stages) - stages.count('read')} " in out
    code, out, _ = run_cli(["quarantine", "list"], capsys)
    assert "The quarantine is empty." in out


def test_a_source_that_cannot_be_reached_is_a_dns_failure_and_a_failed_ingest(cli_env, capsys):
    code, out, _ = run_cli(["ingest", "http://no-such-host.invalid/feed.xml", "--json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["sources_failed"] == 1
    assert "DNS lookup failed for no-such-host.invalid" in out and "disallowed" not in out


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_places_explains_how_a_name_resolves(cli_env, capsys, json_flag):
    code, out, err = run_cli(["places", "Paris", "--context", "Dallas", "--context", "Tyler", *json_flag], capsys)
    assert code == 0, err
    if json_flag:
        result = json.loads(out)
        assert result["chosen"]["country_code"] == "US" and result["candidates"]
    else:
        assert "Paris" in out and "US" in out and "why:" in out


def test_search_json_hits_carry_the_inputs_other_keys_in_extra(cli_env, capsys, tmp_path):
    wire = tmp_path / "wire.jsonl"
    wire.write_text(json.dumps({"id": "w1", "title": "Porto opens a tram line", "published": "2019-06-25",
                                "text": "The mayor of Porto opened a tram line on Monday.",
                                "desk": "europe", "priority": 2}) + "\n")
    assert run_cli(["ingest", str(wire)], capsys)[0] == 0
    code, out, _ = run_cli(["search", "tram", "--json"], capsys)
    (hit,) = json.loads(out)["hits"]
    assert code == 0 and hit["extra"] == {"desk": "europe", "priority": 2}


def test_server_status_exits_3_when_the_embedded_server_is_not_running(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("ELASTICSEARCH_URL", raising=False)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(tmp_path / "data"))
    steps = [  # (action, exit code, printed)
        ("status", 3, "not running"),
        ("stop", 0, "not running: nothing to stop"),  # stopping a stopped server is not an error, nor "stopped"
        ("start", 0, "http://127.0.0.1:"),
        ("status", 0, "http://127.0.0.1:"),
        ("stop", 0, "stopped"),
        ("status", 3, "not running"),
    ]
    try:
        for action, code, printed in steps:
            got, out, _ = run_cli(["server", action], capsys)
            assert (action, got) == (action, code) and printed in out, (action, out)
    finally:
        main(["server", "stop"])


@pytest.mark.parametrize(("query", "said"), [
    ("title:", "'title:' at character 1 has no value: write title:word"),
    ("Akar person: Hulusi", "'person:' at character 6 has no value"),
])
def test_a_field_without_a_value_is_a_syntax_error_naming_its_position(cli_env, capsys, query, said):
    code, out, err = run_cli(["search", query], capsys)
    assert code == 2 and out == ""
    assert said in " ".join(err.split()) and "Traceback" not in err


@pytest.mark.parametrize("args", [["search"], ["search", "--json"], ["search", "Akar", "--collapse"]])
def test_search_into_a_reader_that_went_away_is_quiet_and_exit_0(cli_env, capsys, args):
    """`newsetl search | head -1`: rich's own answer to a broken pipe was exit 1."""
    from tests.unit.test_cli_manners import closed_pipe_run

    assert run_cli(["ingest", str(SEED)], capsys)[0] == 0
    done = closed_pipe_run(args, env=dict(os.environ))
    assert done.stderr == "" and done.returncode == 0, done.stderr


@pytest.mark.parametrize(("args", "said"), [
    (["search", "--size", "2", "--page", "999"], "page 999 is past the last page (3): try --page 3"),
    (["search", "--size", "2", "--page", "3"], None),  # the last page itself has hits: no note
])
def test_a_page_past_the_last_one_says_so(cli_env, capsys, args, said):
    assert run_cli(["ingest", str(REPO / "samples" / "landing")], capsys)[0] == 0
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "5 article(s)" in out
    assert (said in out) if said else ("past the last page" not in out)
