"""Entity resolution across articles: one real entity, one facet value (issue 17's measure), in one run.

    .venv/bin/python bench/entities.py ../shared/corpora [--split dev|heldout|both] [--show N]

Data: `el_aida_conll_dev/aida_dev.jsonl` (the 216 Reuters articles of CoNLL-2003 eng.testa, every proper-name
mention linked to a Wikidata id), split deterministically by the sha1 of each article's id into 138 dev articles
(tuning) and 78 held-out ones (checked, never tuned on). Each split is one corpus: `--across` builds its registry
from that split only. CoNLL-2003 gold types come from `ner_conll2003_en/eng.testa.conll` (same tokens, same
offsets). Corpora are read by path and never copied into the project.

Scores (issue 17's definitions):
- a gold mention (a linked one, not <NIL>) is represented by the system entity that overlaps it with a label
  fitting the gold type (PER: PERSON; ORG: ORG; LOC: GPE/LOC/FAC; OTHER: any), else by any overlapping one, the
  largest overlap first; its value is the entity's `id` when given, else `facet:canonical name`;
- in-article consistency: of the linked entities with 2+ represented mentions in an article, the share whose
  mentions all have one value;
- cross-article consistency: of the linked entities represented in 2+ articles, the share that has one value in
  every article (an article's value of an entity: the most frequent value of its mentions there);
- people merged: of the distinct people (PER ids) represented, the share whose value also represents another
  person;
- CoNLL PER/ORG/LOC: exact-span precision, recall and F1 of the system's labelled spans (GPE/LOC/FAC count as LOC);
- one id, one name: ids that show under two names in one facet (must be 0).

Systems: raw spaCy spans (value = facet:text), newsetl per article (`newsetl enrich --jsonl`), and newsetl
across the split (`newsetl enrich --jsonl --across`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from enrichment import NER_TYPES, conll_documents, fmt, prf  # noqa: E402

from pipeline.core.facets import FACET_OF_LABEL  # noqa: E402
from pipeline.core.records import EntityMention  # noqa: E402
from pipeline.core.settings import load_settings  # noqa: E402
from pipeline.enrich.annotate import enrich_texts  # noqa: E402
from pipeline.enrich.entities import load_entity_config  # noqa: E402
from pipeline.enrich.nlp import LanguageModels  # noqa: E402
from pipeline.enrich.places import PlaceResolver  # noqa: E402
from pipeline.enrich.registry import enrich_across  # noqa: E402
from pipeline.index.version import resolver_of  # noqa: E402

DEV_SIZE = 138  # of 216: the dev part; the other 78 articles are held out
FITS = {"PER": {"PERSON"}, "ORG": {"ORG"}, "LOC": {"GPE", "LOC", "FAC"}}
# (start, end, label, value)
SystemEntity = tuple[int, int, str, str]


def load_aida(corpora: Path) -> list[dict[str, Any]]:
    """The AIDA dev articles, each with its CoNLL gold spans under 'conll' ({(start, end, PER|ORG|LOC)})."""
    docs = [json.loads(line) for line in (corpora / "el_aida_conll_dev" / "aida_dev.jsonl").open(encoding="utf-8")]
    conll = {text.strip(): gold for text, gold in conll_documents(corpora / "ner_conll2003_en" / "eng.testa.conll")}
    for doc in docs:
        doc["conll"] = conll.get(doc["text"].strip())
        if doc["conll"] is None:
            raise SystemExit(f"AIDA article {doc['doc_id']} has no CoNLL twin: the corpora do not match")
    return docs


def split(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """138 dev and 78 held-out articles, by the sha1 of the article id (stable, independent of file order)."""
    ranked = sorted(docs, key=lambda d: hashlib.sha1(str(d["doc_id"]).encode()).hexdigest())
    return {"dev": ranked[:DEV_SIZE], "heldout": ranked[DEV_SIZE:]}


def _day(doc: dict[str, Any]) -> date | None:
    return date.fromisoformat(doc["published"]) if doc.get("published") else None


def system_outputs(models: LanguageModels, docs: list[dict[str, Any]], config,
                   places: PlaceResolver) -> dict[str, list[list[SystemEntity]]]:
    """Per system, per article: (start, end, label, value) of each entity mention. The newsetl systems run as
    `newsetl enrich --jsonl [--across]` does: English, the entity rules and place resolution."""
    items = [(doc["text"], _day(doc), "en", None, None) for doc in docs]
    nlp = models.for_language("en")
    raw = [[(e.start_char, e.end_char, e.label_, f"{FACET_OF_LABEL[e.label_]}:{e.text}") for e in d.ents
            if e.label_ in FACET_OF_LABEL] for d in nlp.pipe([doc["text"] for doc in docs], batch_size=64)]
    per_article = [_values(e.entities) for e, _ in enrich_texts(models, items, entity_config=config, places=places)]
    across = [_values(e.entities, across=True)
              for e, _ in enrich_across(models, items, entity_config=config, places=places)]
    return {"raw spaCy": raw, "newsetl per article": per_article, "newsetl --across": across}


SHOWN: dict[str, str] = {}  # value -> what it looks like, for --show
NAMES: dict[tuple[str, str], set[str]] = defaultdict(set)  # (id, facet) -> the names it showed under


def _values(mentions: Iterable[EntityMention], *, across: bool = False) -> list[SystemEntity]:
    result = []
    for m in mentions:
        value = m.id or f"{FACET_OF_LABEL[m.label]}:{m.canonical}"
        SHOWN.setdefault(value, f"{m.label}:{m.canonical}")
        if across:
            NAMES[m.id, FACET_OF_LABEL[m.label]].add(m.canonical)
        result.append((m.start, m.end, m.label, value))
    return result


def represent(gold: dict[str, Any], system: list[SystemEntity]) -> SystemEntity | None:
    """The system entity standing for a gold mention: a fitting label first, then the largest overlap."""
    best = None
    for entity in system:
        overlap = min(entity[1], gold["end"]) - max(entity[0], gold["start"])
        if overlap <= 0:
            continue
        rank = (entity[2] in FITS.get(gold["type"], FACET_OF_LABEL), overlap)
        if best is None or rank > best[0]:
            best = (rank, entity)
    return best[1] if best else None


def score(docs: list[dict[str, Any]], outputs: list[list[SystemEntity]],
          names: dict[tuple[str, str], set[str]] | None = None,
          show: int = 0) -> dict[str, Any]:
    """The issue's figures for one system over one split."""
    in_ok = in_n = 0
    values_of: dict[str, list[str]] = defaultdict(list)  # qid -> its value in each article
    persons_of_value: dict[str, set[str]] = defaultdict(set)
    person_values: dict[str, set[str]] = defaultdict(set)
    tp = n_pred = n_gold = 0
    broken: list[tuple[str, list[str]]] = []
    for doc, system in zip(docs, outputs, strict=True):
        by_qid: dict[str, list[str]] = defaultdict(list)
        for gold in doc["mentions"]:
            if gold["qid"] == "<NIL>":
                continue
            entity = represent(gold, system)
            if entity is None:
                continue
            by_qid[gold["qid"]].append(entity[3])
            if gold["type"] == "PER":
                persons_of_value[entity[3]].add(gold["qid"])
                person_values[gold["qid"]].add(entity[3])
        for qid, values in by_qid.items():
            values_of[qid].append(Counter(values).most_common(1)[0][0])
            if len(values) >= 2:
                in_n += 1
                in_ok += len(set(values)) == 1
                if len(set(values)) > 1 and show:
                    broken.append(("in", [doc["doc_id"], qid, *sorted(SHOWN.get(v, v) for v in set(values))]))
        predicted = {(s, e, NER_TYPES[label]) for s, e, label, _ in system if label in NER_TYPES}
        n_pred += len(predicted)
        n_gold += len(doc["conll"])
        tp += len(predicted & doc["conll"])
    cross = {qid: values for qid, values in values_of.items() if len(values) >= 2}
    cross_ok = sum(len(set(values)) == 1 for values in cross.values())
    if show:
        broken += [("cross", [qid, *[(SHOWN.get(k, k), n) for k, n in Counter(v).most_common()]])
                   for qid, v in cross.items() if len(set(v)) > 1]
    merged = sum(any(len(persons_of_value[v]) > 1 for v in values) for values in person_values.values())
    return {
        "in_article": (in_ok, in_n), "cross_article": (cross_ok, len(cross)),
        "people_merged": (merged, len(person_values)), "conll": prf(tp, n_pred, n_gold),
        "one_id_two_names": sum(len(n) > 1 for n in (names or {}).values()),
        "broken": [b for b in broken if b[0] == "in"][:show] + [b for b in broken if b[0] == "cross"][:show],
    }


def _ratio(pair: tuple[int, int]) -> str:
    return f"{pair[0] / pair[1]:.3f} ({pair[0]}/{pair[1]})" if pair[1] else "n/a"


def main() -> None:
    """Print one Markdown table per split."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", type=Path)
    parser.add_argument("--split", choices=["dev", "heldout", "both"], default="both")
    parser.add_argument("--show", type=int, default=0, help="print this many inconsistent entities (dev only)")
    args = parser.parse_args()
    settings = load_settings()
    models = LanguageModels(settings.nlp.models)
    config = load_entity_config(settings.entities_config)
    places = resolver_of(settings)
    parts = split(load_aida(args.corpora))
    for name in (["dev", "heldout"] if args.split == "both" else [args.split]):
        docs = parts[name]
        NAMES.clear()
        outputs = system_outputs(models, docs, config, places)
        names = dict(NAMES)
        print(f"\n## AIDA-CoNLL {name} ({len(docs)} articles)")
        print("| system | in-article | cross-article | people merged | CoNLL PER/ORG/LOC |")
        print("|---|---|---|---|---|")
        for system, output in outputs.items():
            across = system == "newsetl --across"
            result = score(docs, output, names if across else None,
                           show=args.show if across and name == "dev" else 0)
            print(f"| {system} | {_ratio(result['in_article'])} | {_ratio(result['cross_article'])} | "
                  f"{_ratio(result['people_merged'])} | {fmt(result['conll'])} |")
            if across:
                print(f"\nids shown under two names in one facet: {result['one_id_two_names']} "
                      f"{[sorted(n) for n in names.values() if len(n) > 1][:5]}")
                for kind, detail in result["broken"]:
                    print(f"  {kind}: {detail}")


if __name__ == "__main__":
    main()
