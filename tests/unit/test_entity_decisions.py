"""Manual entity decisions in the rules file: a later merge or split takes back what an earlier one said about the
same name, so the file never holds a merge and a contradicting split (pipeline/enrich/decisions.py)."""

from __future__ import annotations

import pytest
import yaml

from pipeline.enrich.decisions import record_merge, record_split
from pipeline.enrich.entities import load_entity_config

NATO = "north atlantic treaty organization"
HEAD = "# kept\naliases:\n  NATO: [North Atlantic Treaty Organization]  # a comment\n"


def rules(tmp_path, text: str = HEAD):
    path = tmp_path / "entities.yml"
    path.write_text(text, encoding="utf-8")
    return path


def state(path) -> tuple[dict[str, str], set[str]]:
    """(variant key -> canonical, without the canonicals themselves; distinct keys)."""
    config = load_entity_config(path)
    return {k: v for k, v in config.aliases.items() if k != v.casefold()}, set(config.distinct)


# (decisions in order, the aliases and distinct keys that must result; HEAD's own alias stays unless a step takes
# it back)
SEQUENCES = [
    ("split after merge", [("merge", "Selin Aydin", "Pieter de Graaf"), ("split", "Selin Aydin")],
     {NATO: "NATO"}, {"selin aydin"}),
    ("merge after split", [("split", "Selin Aydin"), ("merge", "Selin Aydin", "Pieter de Graaf")],
     {NATO: "NATO", "selin aydin": "Pieter de Graaf"}, set()),
    ("merge, split, merge", [("merge", "Selin Aydin", "Pieter de Graaf"), ("split", "Selin Aydin"),
                             ("merge", "Selin Aydin", "Pieter de Graaf")],
     {NATO: "NATO", "selin aydin": "Pieter de Graaf"}, set()),
    ("split twice", [("split", "Ardahan"), ("split", "ARDAHAN")], {NATO: "NATO"}, {"ardahan"}),
    ("merge into another name later", [("merge", "Aydin", "Selin Aydin"), ("merge", "Aydin", "Ali Aydin")],
     {NATO: "NATO", "aydin": "Ali Aydin"}, set()),
    ("merge into a configured spelling", [("merge", "N.A.T.O.", "North Atlantic Treaty Organization")],
     {NATO: "NATO", "n.a.t.o.": "NATO"}, set()),
    ("split of a shipped alias", [("split", "North Atlantic Treaty Organization")],
     {}, {"north atlantic treaty organization"}),
    ("the target's own split stays", [("split", "Pieter de Graaf"), ("merge", "Selin Aydin", "Pieter de Graaf")],
     {NATO: "NATO", "selin aydin": "Pieter de Graaf"}, {"pieter de graaf"}),
]


@pytest.mark.parametrize(("case", "steps", "aliases", "distinct"), SEQUENCES, ids=[s[0] for s in SEQUENCES])
def test_the_later_decision_wins_and_the_file_holds_no_contradiction(tmp_path, case, steps, aliases, distinct):
    path = rules(tmp_path)
    for action, *names in steps:
        (record_merge if action == "merge" else record_split)(path, *names)
    assert state(path) == (aliases, distinct)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# kept\n")
    tree = yaml.safe_load(text)
    listed = [*(v for variants in (tree.get("aliases") or {}).values() for v in variants),
              *(tree.get("distinct") or [])]
    assert len(listed) == len({name.casefold() for name in listed}), text  # no name listed twice


def test_a_split_keeps_the_rest_of_the_alias_line_and_drops_an_emptied_entry(tmp_path):
    path = rules(tmp_path, HEAD.replace("Organization]", "Organization, N.A.T.O.]")
                 + '  "Pieter de Graaf": ["Selin Aydin"]\n')
    decision = record_split(path, "North Atlantic Treaty Organization")
    assert decision.notes == ["'North Atlantic Treaty Organization' is no longer a spelling of 'NATO' (an earlier "
                              "merge, taken back)"]
    assert "  NATO: [N.A.T.O.]  # a comment\n" in path.read_text(encoding="utf-8")
    record_split(path, "Selin Aydin")
    text = path.read_text(encoding="utf-8")
    assert "Pieter de Graaf" not in text and "distinct:\n  - Selin Aydin\n" in text


def test_block_style_lists_are_edited_too(tmp_path):
    path = rules(tmp_path, "aliases:\n  Pieter de Graaf:\n    - Selin Aydin\n    - P. de Graaf\n"
                           "distinct:\n  - Ardahan\n  - Kemal\n")
    record_split(path, "Selin Aydin")
    record_merge(path, "Ardahan", "Kemal Ardahan")
    aliases, distinct = state(path)
    assert aliases == {"p. de graaf": "Pieter de Graaf", "ardahan": "Kemal Ardahan"}
    assert distinct == {"selin aydin", "kemal"}


@pytest.mark.parametrize(("name", "into", "said"), [
    ("NATO", "United Nations", "'NATO' has configured spellings of its own"),
    ("NATO", "North Atlantic Treaty Organization", "is a configured spelling of 'NATO'"),
])
def test_a_merge_that_cannot_be_written_is_refused_and_writes_nothing(tmp_path, name, into, said):
    path = rules(tmp_path)
    with pytest.raises(ValueError, match=said):
        record_merge(path, name, into)
    assert path.read_text(encoding="utf-8") == HEAD


def test_a_decision_already_written_writes_nothing(tmp_path):
    path = rules(tmp_path, HEAD + "distinct:\n  - Ardahan\n")
    assert not record_split(path, "Ardahan").written
    assert not record_merge(path, "North Atlantic Treaty Organization", "NATO").written
    assert path.read_text(encoding="utf-8") == HEAD + "distinct:\n  - Ardahan\n"


def test_a_split_names_the_spellings_a_canonical_keeps(tmp_path):
    decision = record_split(rules(tmp_path), "NATO")
    assert decision.notes == ["'NATO' keeps its configured spellings (north atlantic treaty organization); split "
                              "each of them to separate it"]
    assert state(tmp_path / "entities.yml")[1] == {"nato"}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "aliases: {}  # none yet\n", "aliases:\ndistinct: []\n",
                                  "aliases:\n  NATO: [North Atlantic Treaty Organization]\ndistinct: [Ardahan]\n"])
def test_every_shape_of_the_file_takes_the_decisions(tmp_path, text):
    path = rules(tmp_path, text)
    record_merge(path, "Selin Aydin", "Pieter de Graaf")
    record_split(path, "Ardahan")
    record_merge(path, "Ardahan", "Kemal Ardahan")
    aliases, distinct = state(path)
    assert {k: v for k, v in aliases.items() if k != NATO} == {"selin aydin": "Pieter de Graaf",
                                                                "ardahan": "Kemal Ardahan"}
    assert distinct == set()
    assert path.read_text(encoding="utf-8").startswith(text.split("\n")[0].split("{")[0].rstrip())
