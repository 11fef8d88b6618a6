"""CLI manners that need no server: configuration errors in one line, a named config that is missing, and a
reader that goes away (`| head`)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from pipeline.cli.main import main
from pipeline.core.errors import ConfigError
from pipeline.core.settings import load_settings
from pipeline.enrich.entities import load_entity_config
from tests.conftest import REPO

BAD_YAML = [
    ("unclosed bracket", "index: {alias: news\n", "line 2"),
    ("bad indentation", "index:\n  alias: news\n shards: 1\n", "line 3"),
    ("tab", "index:\n\talias: news\n", "line 2"),
    ("unclosed quote", 'source_name: "wire\n', "line 2"),
]


@pytest.mark.parametrize(("name", "text", "where"), BAD_YAML, ids=[b[0] for b in BAD_YAML])
def test_a_yaml_syntax_error_in_settings_is_one_line(tmp_path, capsys, name, text, where):
    config = tmp_path / "config" / "settings.yml"
    config.parent.mkdir()
    config.write_text(text)
    assert main(["--config", str(config), "sources"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{config}, {where}" in err and "YAML syntax error" in err


@pytest.mark.parametrize("which", ["sources_config", "entities_config"])
def test_a_yaml_syntax_error_in_sources_or_entities_is_one_line(tmp_path, which):
    bad = tmp_path / f"{which}.yml"
    bad.write_text("sources:\n  - name: [wire\n")
    with pytest.raises(ConfigError, match=r"line 3, column 1: YAML syntax error") as caught:
        if which == "entities_config":
            load_entity_config(bad)
        else:
            from pipeline.collect.config import load_sources

            load_sources(load_settings(REPO / "config" / "settings.yml",
                                       env={"NEWSETL_SOURCES_CONFIG": str(bad)}))
    assert "\n" not in str(caught.value)


def test_sources_command_reports_a_broken_sources_file_in_one_line(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "sources.yml"
    bad.write_text("sources: [\n")
    monkeypatch.setenv("NEWSETL_SOURCES_CONFIG", str(bad))
    assert main(["sources"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "YAML syntax error" in err


def test_a_config_path_that_does_not_exist_is_an_error(tmp_path, capsys):
    missing = tmp_path / "nope.yml"
    assert main(["--config", str(missing), "sources"]) == 2
    assert f"settings file {missing} does not exist" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="from NEWSETL_CONFIG"):
        load_settings(env={"NEWSETL_CONFIG": str(missing)})


@pytest.mark.parametrize(("var", "key"), [("NEWSETL_SOURCES_CONFIG", "sources_config"),
                                          ("NEWSETL_ENTITIES_CONFIG", "entities_config")])
def test_a_named_sources_or_entities_file_that_does_not_exist_is_an_error(tmp_path, var, key):
    with pytest.raises(ConfigError, match=f"{key} .*nope.yml does not exist"):
        load_settings(REPO / "config" / "settings.yml", env={var: str(tmp_path / "nope.yml")})


def closed_pipe_run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`newsetl ARGS | head -0`: stdout is a pipe whose reader has already closed it, so the first write fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "pipeline.cli.main", *args], cwd=REPO, env=env,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, check=False, timeout=120)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [
    ["sources", "--json"],  # print()
    ["sources"],  # a rich table: rich's own broken-pipe answer was exit 1
    ["search", "--help"],  # argparse, before any command runs
])
def test_a_reader_that_goes_away_is_quiet_and_exit_0(args):
    done = closed_pipe_run(args)
    assert done.stderr == "" and done.returncode == 0, done.stderr


def test_ctrl_c_outside_an_ingest_loop_is_one_line_and_exit_130(capsys, monkeypatch):
    """A Ctrl-C during any command's start-up or a migration ends with "interrupted" and 130, not a traceback."""
    import pipeline.cli.main as cli

    def stopped(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_sources", stopped)
    assert main(["sources"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


@pytest.mark.parametrize(("target", "message"), [
    ("missing/dir/out.csv", "does not exist"),
    ("a-folder.csv", "that is a folder"),
    ("out.txt", "must end in .csv or .jsonl"),
])
def test_an_export_path_that_cannot_be_written_is_named_before_any_search(tmp_path, target, message):
    from pipeline.search.export import export_format

    (tmp_path / "a-folder.csv").mkdir()
    with pytest.raises(ValueError, match=message) as error:
        export_format(tmp_path / target)
    assert ".partial" not in str(error.value)


BAD_SETTINGS = [  # (settings.yml, environment, what the one line must say)
    ("index:\n  alais: news\n", {}, ["unknown key 'index.alais' in {config}", "did you mean 'alias'?",
                                     "allowed under 'index': alias, bulk_chunk_size"]),
    ("batch_artcles: 5\n", {}, ["unknown key 'batch_artcles' in {config}", "did you mean 'batch_articles'?",
                                "allowed at the top level: batch_articles, data_dir"]),
    ("colour: blue\n", {}, ["unknown key 'colour' in {config}: allowed at the top level"]),
    ("index:\n  shards: many\n", {}, ["index.shards in {config}: input should be a valid integer", "(got 'many')"]),
    ("index: news\n", {}, ["index in {config}: expected a section of keys (alias, "]),
    ("nlp:\n  models: [en]\n", {}, ["nlp.models in {config}: input should be a valid dictionary"]),
    ("", {"NEWSETL_INDEX_SHARDS": "three"}, ["index.shards from NEWSETL_INDEX_SHARDS: input should be a valid"]),
    ("elasticsearch:\n  pasword: hunter2\n", {}, ["unknown key 'elasticsearch.pasword'", "did you mean 'password'?"]),
    ("index:\n  request_timeout: 0\n", {}, ["index.request_timeout in {config}: input should be greater than 0"]),
    ("", {"NEWSETL_INDEX_SHARDS": "-3"}, ["index.shards from NEWSETL_INDEX_SHARDS: input should be greater than or "
                                          "equal to 1", "(got '-3')"]),
    ("index:\n  replicas: -1\n", {}, ["index.replicas in {config}: input should be greater than or equal to 0"]),
    ("index:\n  bulk_chunk_size: 0\n", {}, ["index.bulk_chunk_size in {config}: input should be greater"]),
    ("index:\n  bulk_max_retries: -1\n", {}, ["index.bulk_max_retries in {config}: input should be greater"]),
    ("default_language: english\n", {}, ["default_language in {config}: not an ISO 639-1 language code"]),
]


@pytest.mark.parametrize(("text", "env", "said"), BAD_SETTINGS, ids=[b[0].split(":")[0] for b in BAD_SETTINGS])
def test_a_wrong_key_or_type_in_settings_is_one_line_naming_it(tmp_path, capsys, monkeypatch, text, env, said):
    config = tmp_path / "settings.yml"
    config.write_text(text)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert main(["--config", str(config), "sources"]) == 2
    err = capsys.readouterr().err
    line = " ".join(err.split())
    assert err.count("\n") == 1 and "Traceback" not in err and "pydantic" not in err, err
    for part in said:
        assert part.format(config=config) in line, line
    assert "hunter2" not in err


@pytest.mark.parametrize(("ref", "shown"), [
    ("short.html", "short.html"),
    ("x" * 200, "x" * 200),
    ("http://h/a?q=" + "z" * 40_000 + "&end",
     "http://h/a?q=" + "z" * 120 + "…[39,818 characters]…" + "z" * 62 + "&end"),
])
def test_a_long_ref_is_shown_by_its_start_and_end_in_the_run_summary(ref, shown):
    """Field case es-immense-keyword-feed: a 40,000-character link filled the screen of the summary."""
    import io

    from rich.console import Console

    from pipeline.cli.report import print_report
    from pipeline.core.text import shortened

    assert shortened(ref) == shown
    out = io.StringIO()
    report = {"files": 1, "seen": 1, "indexed": 0, "unchanged": 0, "rejected": 1, "undated": 0,
              "rejections": [{"ref": ref, "stage": "fetch", "reason": "HTTP 404"}], "warnings": []}
    print_report(report, Console(file=out, width=400, color_system=None))
    assert f"rejected [fetch] {shown}: HTTP 404" in out.getvalue()


# (arguments after `newsetl`, the query search reads, facet person, size): a word with a leading "-" that is no
# option of `search` is the query language's NOT, not argparse's "unrecognized arguments".
SEARCH_ARGUMENTS = [
    (["search", "-england"], "-england", [], 10),
    (["search", "-england", "--place", "UK", "rates"], "-england rates", [], 10),
    (["search", "interest", "rates"], "interest rates", [], 10),
    (["search", "--", "-england rates"], "-england rates", [], 10),
    (["search", "--", "--person"], "--person", [], 10),
    (["--config", "c.yml", "search", "--size", "5", "-x"], "-x", [], 5),
    (["search", "--pers", "Tony Blair", "-england", "--size=3"], "-england", ["Tony Blair"], 3),
    (["search", '-"bank of england"', "-5"], '-"bank of england" -5', [], 10),
    (["search", "--person", "Tony Blair"], None, ["Tony Blair"], 10),
]


@pytest.mark.parametrize(("argv", "query", "person", "size"), SEARCH_ARGUMENTS)
def test_search_reads_a_leading_minus_word_as_a_query_word(argv, query, person, size):
    from pipeline.cli.main import parse_arguments

    args = parse_arguments(argv)
    assert (" ".join(args.query) or None, args.facet_person, args.size) == (query, person, size)


@pytest.mark.parametrize(("argv", "said"), [
    (["search", "--persn", "x"], "unrecognized arguments: --persn"),  # a mistyped option is no query word
    (["search", "--person", "-x"], "expected one argument"),
    (["search", "--f", "2019-01-01"], "ambiguous option"),
])
def test_search_still_refuses_a_wrong_option(capsys, argv, said):
    from pipeline.cli.main import parse_arguments

    with pytest.raises(SystemExit) as stopped:
        parse_arguments(argv)
    assert stopped.value.code == 2 and said in capsys.readouterr().err


def test_other_commands_keep_their_arguments():
    from pipeline.cli.main import build_parser, query_last

    for argv in (["ingest", "-x"], ["entities", "split", "-x"], ["--config", "search", "sources"]):
        assert query_last(list(argv), build_parser()) == argv


def test_a_configured_model_that_is_not_installed_is_a_configuration_error(tmp_path, capsys, monkeypatch):
    config = tmp_path / "settings.yml"
    config.write_text("nlp:\n  models:\n    en: no_such_spacy_package\n")
    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": "a", "text": "Tony Blair spoke."}\n'))
    assert main(["--config", str(config), "enrich", "--jsonl"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'no_such_spacy_package' for language 'en' (nlp.models) is not installed" in err
    assert "pip install" in " ".join(err.split())


@pytest.mark.parametrize(("argv", "label", "size"), [
    (["entities", "list", "--label", "person"], "PERSON", 30),
    (["entities", "list", "--label", "Work-Of-Art", "--size", "1"], "WORK_OF_ART", 1),
    (["entities", "list", "--label", "GPE", "--size", "5"], "GPE", 5),
    (["entities", "list"], None, 30),
])
def test_entities_list_takes_a_label_in_any_case(argv, label, size):
    from pipeline.cli.main import parse_arguments

    args = parse_arguments(argv)
    assert (args.label, args.size) == (label, size)


@pytest.mark.parametrize(("argv", "said"), [
    (["entities", "list", "--label", "bogus"], "unknown label 'bogus' (known: PERSON, ORG, GPE"),
    (["entities", "list", "--size", "0"], "expected at least 1, got 0"),
    (["entities", "list", "--size", "-5"], "expected at least 1, got -5"),
    (["entities", "list", "--size", "many"], "expected a whole number, got 'many'"),
])
def test_entities_list_refuses_an_unknown_label_or_a_size_below_1(capsys, argv, said):
    from pipeline.cli.main import parse_arguments

    with pytest.raises(SystemExit) as stopped:
        parse_arguments(argv)
    assert stopped.value.code == 2 and said in capsys.readouterr().err


def test_enrich_help_names_every_input_key(capsys):
    from pipeline.cli.main import parse_arguments

    with pytest.raises(SystemExit):
        parse_arguments(["enrich", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for key in ('"id"', '"text"', '"published"', '"language"', '"date_order"', "DMY, MDY or YMD"):
        assert key in shown, key
