"""Enrichment quality and speed against real corpora, side by side with the baselines, in one run.

    .venv/bin/python bench/enrichment.py ../shared/corpora [--only dates,ner,consistency,speed]
        [--part dev|held-out|all] [--no-baseline] [--errors N]

- dates: calendar-date expressions (TIMEX3 DATE with a YYYY, YYYY-MM or YYYY-MM-DD value) on TempEval-3
  (TimeBank + AQUAINT) and MEANTIME; a prediction is correct when its span overlaps a gold expression and its
  value is identical. Baseline: spaCy DATE entities handed to dateparser with the publication date as base.
  Each corpus is split by document into a dev part (tune on it, read its errors) and a held-out part (only its
  figures are read): a document belongs to the held-out part when the SHA-1 of its id is odd. `--errors` prints
  the errors of the dev part only.
- ner: entity-level exact-span F1 for PER/ORG/LOC on CoNLL-2003 dev (eng.testa), raw spaCy vs newsetl
  (GPE/LOC/FAC count as LOC; other types are ignored on both sides).
- consistency: on MEANTIME, the share of real entities (same gold entity) mentioned by name (NAM) twice or more in
  an article whose found mentions all carry one facet value; and the wrong-merge rate, the share of facet values
  that cover mentions of two or more different gold entities. Each gold mention is matched with the system
  mention that overlaps it best; only the annotated first six lines of each article count. Raw spaCy text vs
  newsetl.
- speed: words/s of raw `nlp.pipe` vs newsetl enrichment over the same texts.

Corpora are read by path and never copied into the project.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from pipeline.core.facets import FACET_OF_LABEL
from pipeline.core.settings import load_settings
from pipeline.enrich.annotate import enrich_texts
from pipeline.enrich.clauses import ClauseDirection, load_parser
from pipeline.enrich.dates import find_dates
from pipeline.enrich.entities import load_entity_config
from pipeline.enrich.nlp import LanguageModels, load_nlp

CALENDAR_VALUE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
TIME_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}T")
NER_TYPES = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    """Precision, recall, F1."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def fmt(values: tuple[float, float, float]) -> str:
    return "P {:.3f}  R {:.3f}  F1 {:.3f}".format(*values)


# ---------------------------------------------------------------------------------------------------------------
# Dates


def part_of(doc_id: str) -> str:
    """'dev' or 'held-out': a fixed split by document id, independent of file order."""
    return "held-out" if hashlib.sha1(doc_id.encode("utf-8")).digest()[-1] % 2 else "dev"


def temporal_docs(corpora: Path, part: str = "all") -> dict[str, list[dict]]:
    """{corpus name: [{text, dct, gold: [(start, end, value)], all: [(start, end)]}]} of one part ('all': both)."""
    result: dict[str, list[dict]] = {}
    tbaq = corpora / "temporal_tempeval3" / "timex3_gold_tbaq.jsonl"
    meantime = corpora / "temporal_ner_meantime_en" / "meantime_en_apple_gold.jsonl"
    for name, path in (("TempEval-3 TBAQ", tbaq), ("MEANTIME apple", meantime)):
        docs = []
        for line in path.open(encoding="utf-8"):
            record = json.loads(line)
            if part != "all" and part_of(str(record["doc_id"])) != part:
                continue
            dct_value = record["dct"]["value"] if isinstance(record["dct"], dict) else record["dct"]
            try:
                dct = date.fromisoformat(dct_value[:10])
            except (TypeError, ValueError):
                continue
            timexes = [t for t in record["timexes"] if not t.get("empty") and t.get("start") is not None]
            docs.append({
                "text": record["text"],
                "annotated_end": annotated_end(record["text"], name),
                "dct": dct,
                "gold": [(t["start"], t["end"], t["value"]) for t in timexes
                         if t["type"] == "DATE" and CALENDAR_VALUE.fullmatch(t.get("value") or "")],
                "all": [(t["start"], t["end"]) for t in timexes],
                # A value with a time of day is a time whatever type the annotator gave it ("Friday night" is
                # sometimes typed DATE with value 2000-01-07TNI in TBAQ): see score_dates.
                "times": [(t["start"], t["end"], t.get("value") or "") for t in timexes
                          if t["type"] == "TIME" or TIME_VALUE.match(t.get("value") or "")],
            })
        result[name] = docs
    return result


def annotated_end(text: str, corpus: str) -> int:
    """MEANTIME annotates only the headline, the date line and the first four sentences (lines 0-5)."""
    if not corpus.startswith("MEANTIME"):
        return len(text)
    cut = -1
    for _ in range(6):
        cut = text.find("\n", cut + 1)
        if cut == -1:
            return len(text)
    return cut


def score_dates(docs: list[dict], predict) -> tuple[tuple[float, float, float], list]:
    """P/R/F1 of predicted (start, end, value) against calendar gold; also the errors for inspection."""
    tp = n_pred = n_gold = 0
    errors = []
    for doc in docs:
        # A weekday with a time of day ("Friday night", TIME 2000-01-07TNI) is resolved to its day on purpose (the
        # index keeps days, not times): such a prediction is neither a hit nor an error.
        predictions = [p for p in predict(doc) if p[0] < doc["annotated_end"]
                       and not any(p[0] < te and ts < p[1] and tv.startswith(p[2] + "T")
                                   for ts, te, tv in doc.get("times", ()))]
        gold = list(doc["gold"])
        n_gold += len(gold)
        n_pred += len(predictions)
        matched: set[int] = set()
        for start, end, value in predictions:
            hit = next((i for i, (gs, ge, gv) in enumerate(gold)
                        if i not in matched and start < ge and gs < end and gv == value), None)
            if hit is None:
                overlapping = [g for g in gold if start < g[1] and g[0] < end]
                errors.append(("FP", doc["text"][start:end], value, overlapping and overlapping[0][2], doc["dct"]))
            else:
                matched.add(hit)
                tp += 1
        for i, (gs, ge, gv) in enumerate(gold):
            if i not in matched:
                errors.append(("FN", doc["text"][gs:ge], gv, None, doc["dct"]))
    return prf(tp, n_pred, n_gold), errors


def ours_dates(parser):
    """newsetl's resolver as the pipeline runs it: with the direction of bare weekdays/months from the parse."""
    def predict(doc: dict) -> list[tuple[int, int, str]]:
        direction = ClauseDirection(parser, doc["text"]) if parser is not None else None
        return [(d.start, d.end, d.value) for d in find_dates(doc["text"], doc["dct"], direction=direction)]

    return predict


def baseline_dates(nlp):
    """spaCy DATE entities -> dateparser relative to the publication date (the issue's reference baseline)."""
    from dateparser.date import DateDataParser

    def predict(doc: dict) -> list[tuple[int, int, str]]:
        base = datetime(doc["dct"].year, doc["dct"].month, doc["dct"].day)
        parser = DateDataParser(languages=["en"], settings={"RELATIVE_BASE": base, "RETURN_TIME_AS_PERIOD": True})
        found = []
        for ent in nlp(doc["text"]).ents:
            if ent.label_ != "DATE":
                continue
            data = parser.get_date_data(ent.text)
            if not data or not data.date_obj:
                continue
            shape = {"year": "%Y", "month": "%Y-%m"}.get(data.period, "%Y-%m-%d")
            found.append((ent.start_char, ent.end_char, data.date_obj.strftime(shape)))
        return found

    return predict


def bench_dates(corpora: Path, nlp, show_errors: int, part: str = "all", with_baseline: bool = True) -> None:
    print(f"\n## Dates: calendar-date expressions (span overlap + exact value), part: {part}")
    print("| corpus | gold | newsetl | spaCy + dateparser |")
    print("|---|---|---|---|")
    baseline = baseline_dates(nlp) if with_baseline else None
    all_errors = []
    for name, docs in temporal_docs(corpora, part).items():
        ours, errors = score_dates(docs, ours_dates(load_parser(nlp)))
        base = fmt(score_dates(docs, baseline)[0]) if baseline else "(skipped)"
        if part == "dev":
            all_errors += errors  # held-out errors are never printed: they must not steer the rules
        print(f"| {name} ({len(docs)} docs) | {sum(len(d['gold']) for d in docs)} | {fmt(ours)} | {base} |")
    if show_errors:
        print()
        for kind, text, value, gold_value, dct in all_errors[:show_errors]:
            print(f"  {kind} {text!r} -> {value} (gold {gold_value}, dct {dct})")


# ---------------------------------------------------------------------------------------------------------------
# NER on CoNLL-2003 dev


def conll_documents(path: Path) -> Iterable[tuple[str, set[tuple[int, int, str]]]]:
    """(text, gold spans) per document; tokens joined by spaces, sentences by newlines."""
    tokens_of_doc: list[list[tuple[str, str]]] = []
    sentence: list[tuple[str, str]] = []

    def flush_doc():
        text_parts, spans, offset = [], set(), 0
        for sent in tokens_of_doc:
            open_span = None
            for i, (token, tag) in enumerate(sent):
                start = offset
                end = start + len(token)
                text_parts.append(token + (" " if i < len(sent) - 1 else "\n"))
                offset = end + 1
                if tag.startswith("B-") or (tag.startswith("I-") and (open_span is None or open_span[2] != tag[2:])):
                    if open_span:
                        spans.add(tuple(open_span))
                    open_span = [start, end, tag[2:]]
                elif tag.startswith("I-"):
                    open_span[1] = end
                else:
                    if open_span:
                        spans.add(tuple(open_span))
                    open_span = None
            if open_span:
                spans.add(tuple(open_span))
        return "".join(text_parts), {s for s in spans if s[2] in ("PER", "ORG", "LOC")}

    for line in path.open(encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("-DOCSTART-"):
            if sentence:
                tokens_of_doc.append(sentence)
                sentence = []
            if tokens_of_doc:
                yield flush_doc()
            tokens_of_doc = []
            continue
        if not line.strip():
            if sentence:
                tokens_of_doc.append(sentence)
                sentence = []
            continue
        parts = line.split()
        sentence.append((parts[0], parts[-1]))
    if sentence:
        tokens_of_doc.append(sentence)
    if tokens_of_doc:
        yield flush_doc()


def english(_nlp) -> LanguageModels:
    """The configured English pipeline (the one main() loaded) as the enrichment's models: every text is English."""
    return LanguageModels({"en": load_settings().nlp.models["en"]})


def as_english(items):
    """(text, day, context) -> (text, day, "en", context)."""
    return [(text, day, "en", None, context) for text, day, context in items]


def bench_ner(corpora: Path, nlp, entity_config) -> None:
    docs = list(conll_documents(corpora / "ner_conll2003_en" / "eng.testa.conll"))
    raw_tp = raw_n = ours_tp = ours_n = gold_n = 0
    texts = [(text, None, gold) for text, gold in docs]
    raw_docs = list(nlp.pipe([t for t, _, _ in texts], batch_size=64))
    for (_text, _none, gold), doc in zip(texts, raw_docs, strict=True):
        gold_n += len(gold)
        raw = {(e.start_char, e.end_char, NER_TYPES[e.label_]) for e in doc.ents if e.label_ in NER_TYPES}
        raw_n += len(raw)
        raw_tp += len(raw & gold)
    for enrichment, gold in enrich_texts(english(nlp), as_english(texts), entity_config=entity_config):
        ours = {(m.start, m.end, NER_TYPES[m.label]) for m in enrichment.entities if m.label in NER_TYPES}
        ours_n += len(ours)
        ours_tp += len(ours & gold)
    print("\n## NER on CoNLL-2003 dev (eng.testa), PER/ORG/LOC exact spans")
    print("| system | P / R / F1 |")
    print("|---|---|")
    print(f"| raw spaCy | {fmt(prf(raw_tp, raw_n, gold_n))} |")
    print(f"| newsetl | {fmt(prf(ours_tp, ours_n, gold_n))} |")
    print(f"({len(docs)} documents, {gold_n} gold entities)")


# ---------------------------------------------------------------------------------------------------------------
# Facet consistency on MEANTIME


def _jaccard(a_start: int, a_end: int, b_start: int, b_end: int) -> float:
    overlap = min(a_end, b_end) - max(a_start, b_start)
    return max(0, overlap) / (max(a_end, b_end) - min(a_start, b_start))


# Words after which an English noun phrase's head is over: "the Moscone Center in San Francisco" -> "Center".
_POST_MODIFIER = re.compile(r" (?:,|\(|in|of|at|on|for|from|with|by|to|located|capable|that|which|who) ")


def _head(text: str, start: int, end: int) -> tuple[int, int]:
    """Character span of a mention's head word: the last word before any post-modifier."""
    cut = _POST_MODIFIER.search(text, start, end)
    stop = cut.start() if cut else end
    return (text.rfind(" ", start, stop) + 1 or start), stop


def bench_consistency(corpora: Path, nlp, entity_config) -> None:
    path = corpora / "temporal_ner_meantime_en" / "meantime_en_apple_gold.jsonl"
    docs = [json.loads(line) for line in path.open(encoding="utf-8")]
    results = {"raw spaCy": [0, 0, 0, 0], "newsetl": [0, 0, 0, 0]}  # consistent, entities, wrong values, values
    items = [(d["text"], date.fromisoformat(d["dct"][:10]) if re.match(r"\d{4}-", d["dct"] or "") else None, d)
             for d in docs]
    raw_docs = list(nlp.pipe([t for t, _, _ in items]))
    ours = list(enrich_texts(english(nlp), as_english(items), entity_config=entity_config))
    for (_text, _dct, doc), raw_doc, (enrichment, _) in zip(items, raw_docs, ours, strict=True):
        named = [m for m in doc["entity_mentions"] if m["syntactic_type"] in ("NAM", "PRE.NAM") and m.get("entity")]
        end = annotated_end(doc["text"], "MEANTIME")
        raw_values = [(e.start_char, e.end_char, f"{FACET_OF_LABEL.get(e.label_)}:{e.text}") for e in raw_doc.ents
                      if e.label_ in FACET_OF_LABEL and e.start_char < end]
        our_values = [(m.start, m.end, f"{FACET_OF_LABEL[m.label]}:{m.canonical}") for m in enrichment.entities
                      if m.start < end]
        for system, values in (("raw spaCy", raw_values), ("newsetl", our_values)):
            by_entity: dict[str, list[str]] = defaultdict(list)
            entities_of_value: dict[str, set[str]] = defaultdict(set)
            mention_count: dict[str, int] = defaultdict(int)
            for m in named:
                mention_count[m["entity"]] += 1
                # Each gold mention is matched with the one system mention that overlaps it best (Jaccard of
                # the character spans), preferring one that holds the gold mention's head word:
                # "The American computer company Apple" (gold: Apple) is matched by "Apple", not by the longer
                # "American"; "Apple Computer 's iTunes" (gold: iTunes) by "iTunes", not "Apple Computer 's".
                head_start, head_end = _head(doc["text"], m["start"], m["end"])
                best = max(((start <= head_start and head_end <= end, _jaccard(start, end, m["start"], m["end"]),
                             value) for start, end, value in values), default=(False, 0.0, None))[1:]
                if best[0] > 0:
                    by_entity[m["entity"]].append(best[1])
                    entities_of_value[best[1]].add(m["entity"])
            for entity, count in mention_count.items():
                if count >= 2 and by_entity.get(entity):
                    results[system][1] += 1
                    results[system][0] += len(set(by_entity[entity])) == 1
            results[system][3] += len(entities_of_value)
            results[system][2] += sum(len(ents) > 1 for ents in entities_of_value.values())
    print("\n## Facet consistency on MEANTIME (named mentions, entities mentioned 2+ times in an article)")
    print("| system | one value per entity | wrong merges |")
    print("|---|---|---|")
    for system, (consistent, entities, wrong, values) in results.items():
        print(f"| {system} | {consistent / entities:.3f} ({consistent}/{entities}) | "
              f"{wrong / values:.3f} ({wrong}/{values} values) |")


# ---------------------------------------------------------------------------------------------------------------
# Speed


def bench_speed(corpora: Path, nlp, entity_config, n: int = 400) -> None:
    import gzip

    texts = []
    with gzip.open(corpora / "news_bbc2225" / "bbc2225.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
            if len(texts) >= n:
                break
    words = sum(len(t.split()) for t in texts)
    dct = date(2005, 1, 1)
    list(nlp.pipe(texts[:20]))  # warm-up
    timings = {"raw nlp.pipe": [], "newsetl enrichment": []}
    for _round in range(3):
        started = time.perf_counter()
        for _doc in nlp.pipe(texts, batch_size=64):
            pass
        timings["raw nlp.pipe"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for _ in enrich_texts(english(nlp), ((t, dct, "en", None, None) for t in texts), batch_size=64,
                              entity_config=entity_config):
            pass
        timings["newsetl enrichment"].append(time.perf_counter() - started)
    print(f"\n## Speed: {len(texts)} BBC articles, {words} words, 1 process, best of 3")
    best = {name: min(values) for name, values in timings.items()}
    for name, seconds in best.items():
        print(f"- {name}: {words / seconds:,.0f} words/s")
    print(f"- enrichment / raw: {best['raw nlp.pipe'] / best['newsetl enrichment']:.3f}")


def main() -> None:
    """Run the selected sections and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", type=Path, help="the shared corpora folder")
    parser.add_argument("--only", default="dates,ner,consistency,speed")
    parser.add_argument("--errors", type=int, default=0, help="print this many date errors (dev part only)")
    parser.add_argument("--part", choices=("dev", "held-out", "all"), default="all",
                        help="which part of the date corpora to score")
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow spaCy + dateparser baseline")
    args = parser.parse_args()
    settings = load_settings()
    nlp = load_nlp(settings.nlp.model)
    entity_config = load_entity_config()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, model {settings.nlp.model}")
    sections = args.only.split(",")
    if "dates" in sections:
        bench_dates(args.corpora, nlp, args.errors, args.part, not args.no_baseline)
    if "ner" in sections:
        bench_ner(args.corpora, nlp, entity_config)
    if "consistency" in sections:
        bench_consistency(args.corpora, nlp, entity_config)
    if "speed" in sections:
        bench_speed(args.corpora, nlp, entity_config)


if __name__ == "__main__":
    main()
