"""Language-aware enrichment, measured: routing on real pages and wire stories, French NER and dates, English as before.

    .venv/bin/python bench/languages.py                       # every section
    .venv/bin/python bench/languages.py --only french         # the French dev set alone (seconds)
    .venv/bin/python bench/languages.py --baseline /work/main # also: English output of another checkout, compared

Sections (figures in docs/enrichment.md):
- reuters: the first N Reuters-21578 stories with text (all English) through the clean stage's language rule, before
  (the detector's bare top label) and after (pipeline/clean/language.py); a sweep of the detector threshold on the
  dev part (even NEWID) and the held-out part (odd NEWID).
- pages: the HTML pages of html_trafilatura_eval and html_htmldate_eval (German mostly, some English, Polish,
  French...). No page carries a gold language, so the reference is the detector on the WHOLE extracted text where it
  is at least 0.95 sure over at least 30 words and the page's own declared language (if any) agrees; other pages
  are left out. Counted: entity facet values made by a model of another language than the reference (before:
  every page went through the English model), and the share of pages in a language without a model that are
  marked `enrichment: "no-model"`. Threshold sweeps on dev / held-out halves (by a hash of the file name).
- french: bench/data/fr_news.jsonl, 40 French news paragraphs written for this project with their persons,
  organisations, places (facet values) and mentioned dates (values); split dev (tuned on) / held-out.
- baseline: `newsetl enrich --jsonl` of this checkout and of `--baseline DIR` on the first N BBC articles: the
  English entities and dates must be identical.

Corpora are read by path from ../shared/corpora and never copied into the project.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.clean.article import clean_article
from pipeline.clean.html import extract_page
from pipeline.clean.language import (
    MIN_CONFIDENCE,
    OVERRIDE_CONFIDENCE,
    OVERRIDE_MIN_WORDS,
    _identifier,
    detect_language,
)
from pipeline.core.facets import facet_values
from pipeline.core.records import Article, RawArticle
from pipeline.core.settings import PROJECT_ROOT, load_settings
from pipeline.enrich.annotate import enrich_texts
from pipeline.enrich.entities import load_entity_config
from pipeline.enrich.nlp import LanguageModels

CORPORA = PROJECT_ROOT.parent / "shared" / "corpora"
FRENCH_SET = PROJECT_ROOT / "bench" / "data" / "fr_news.jsonl"
SCORED_FACETS = ("person", "org", "place")
REFERENCE_CONFIDENCE, REFERENCE_MIN_WORDS = 0.95, 30


def old_language(stated: str | None, text: str, default: str | None) -> str | None:
    """The rule before this change: the stated language, else the detector's top label whatever its confidence."""
    if stated:
        return stated.lower().split("-")[0]
    detection = detect_language(text)
    return detection.language if detection else default


def resolve(stated: str | None, text: str, fallback: str | None, min_confidence: float,
            override: float) -> str | None:
    """pipeline.clean.language.resolve_language with the thresholds as parameters (for the sweeps)."""
    from pipeline.clean.language import resolve_language

    return resolve_language(stated, text, fallback, min_confidence=min_confidence, override_confidence=override)


# ---------------------------------------------------------------------------------------------------------------
# Reuters: short English wire stories and tables


def reuters_articles(n: int) -> Iterator[tuple[int, Article]]:
    """(NEWID, cleaned Article) for the first n Reuters stories with text, no language stated, default `en`."""
    now = datetime.now(UTC)
    count = 0
    with gzip.open(CORPORA / "news_reuters21578" / "reuters21578.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if not (record.get("body") or "").strip():
                continue
            count += 1
            if count > n:
                return
            raw = RawArticle(ref=str(record["newid"]), source="reuters", format="text", content=record["body"],
                             title=record.get("title") or None)
            article = clean_article(raw, now=now, default_language="en")
            if isinstance(article, Article):
                yield record["newid"], article


def bench_reuters(n: int) -> None:
    items = list(reuters_articles(n))
    before = Counter(old_language(None, a.body, "en") for _, a in items)
    after = Counter(a.language for _, a in items)
    print(f"\n## Reuters-21578: {len(items)} cleaned stories of the first {n} with text (all English)")
    labels = ", ".join(f"{k} {v}" for k, v in before.most_common(8) if k != "en")
    print(f"- tagged other than `en` before: {len(items) - before['en']} ({labels})")
    print(f"- tagged other than `en` after:  {len(items) - after['en']}")
    print("\nThreshold sweep (stories tagged other than `en`), dev = even NEWID, held-out = odd:")
    print("| min confidence | dev | held-out |")
    print("|---|---|---|")
    for threshold in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9):
        wrong = Counter(newid % 2 for newid, a in items if resolve(None, a.body, "en", threshold, 0.95) != "en")
        print(f"| {threshold} | {wrong[0]} of {sum(1 for i, _ in items if i % 2 == 0)} | "
              f"{wrong[1]} of {sum(1 for i, _ in items if i % 2 == 1)} |")


# ---------------------------------------------------------------------------------------------------------------
# Pages: German and other languages


def page_texts(limit: int | None) -> list[tuple[str, str | None, str]]:
    """(file name, declared language, extracted text) of the distinct pages of both HTML evaluation sets."""
    seen: dict[str, Path] = {}
    for folder in (CORPORA / "html_trafilatura_eval" / "html", CORPORA / "html_htmldate_eval" / "html" / "eval"):
        for path in sorted(folder.glob("*.html.gz")):
            seen.setdefault(path.name, path)
    pages = []
    for name in sorted(seen)[:limit]:
        html = gzip.decompress(seen[name].read_bytes()).decode("utf-8", errors="replace")
        page = extract_page(html)
        if len(page.text.split()) >= 5:
            pages.append((name, page.language, page.text))
    return pages


def reference_language(stated: str | None, text: str) -> str | None:
    """The whole text's language when the detector is sure and the page's declaration (if any) agrees."""
    words = len(text.split())
    if words < REFERENCE_MIN_WORDS:
        return None
    language, confidence = _identifier().classify(text)
    if confidence < REFERENCE_CONFIDENCE:
        return None
    if stated and stated.lower().split("-")[0] != language:
        return None
    return language


def is_dev(name: str) -> bool:
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % 2 == 0


def values_of(models: LanguageModels, texts: list[tuple[str, str]], entity_config) -> list[int]:
    """Entity facet values per text, each read as the given language."""
    items = [(text, None, language, None, None) for text, language in texts]
    return [sum(len(v) for v in facet_values(e.entities).values())
            for e, _ in enrich_texts(models, items, batch_size=32, entity_config=entity_config)]


def bench_pages(limit: int | None, models: LanguageModels, entity_config, before: bool = True) -> None:
    started = time.perf_counter()
    pages = page_texts(limit)
    extracted = time.perf_counter() - started
    reference = {name: reference_language(stated, text) for name, stated, text in pages}
    kept = [(name, stated, text) for name, stated, text in pages if reference[name]]
    languages = Counter(reference[name] for name, _, _ in kept)
    print(f"\n## Pages: {len(pages)} distinct pages with text ({extracted:.0f} s to extract), {len(kept)} with a "
          f"reference language: {', '.join(f'{k} {v}' for k, v in languages.most_common(10))}")

    routed = {name: resolve(stated, text, "en", MIN_CONFIDENCE, OVERRIDE_CONFIDENCE) for name, stated, text in kept}
    english_only = LanguageModels({"en": models.models["en"]})
    foreign = [(name, text) for name, _, text in kept if reference[name] != "en"]
    # The "before" column (every page through the English model) costs most of the run; --skip-before leaves it out.
    before_values = (values_of(english_only, [(text, "en") for _, text in foreign], entity_config) if before
                     else [0] * len(foreign))
    wrong_after = [(name, text, routed[name]) for name, _, text in kept
                   if routed[name] != reference[name] and models.has(routed[name])]
    after_values = values_of(models, [(text, language) for _, text, language in wrong_after], entity_config)
    print("\n| | before (English model on every page) | after (routed by language) |")
    print("|---|---|---|")
    print(f"| non-English pages | {len(foreign)} | {len(foreign)} |")
    print(f"| entity values from a model of another language | {sum(before_values):,} | {sum(after_values):,} "
          f"({len(wrong_after)} pages routed to another language's model) |")
    for part, test in (("dev", True), ("held-out", False)):
        in_part = [i for i, (name, _) in enumerate(foreign) if is_dev(name) == test]
        wrong = [i for i, (name, _, _) in enumerate(wrong_after) if is_dev(name) == test]
        print(f"| - of which {part} | {sum(before_values[i] for i in in_part):,} | "
              f"{sum(after_values[i] for i in wrong):,} |")
    unmodelled = [name for name, _, _ in kept if not models.has(reference[name])]
    flagged = [name for name in unmodelled if not models.has(routed[name])]
    print(f"| pages in a language without a model, marked no-model | {0} of {len(unmodelled)} (0%) | "
          f"{len(flagged)} of {len(unmodelled)} ({len(flagged) / max(1, len(unmodelled)):.1%}) |")
    for part, test in (("dev", True), ("held-out", False)):
        part_pages = [n for n in unmodelled if is_dev(n) == test]
        part_flagged = [n for n in flagged if is_dev(n) == test]
        print(f"| - of which {part} | | {len(part_flagged)} of {len(part_pages)} |")
    stated_of = {name: stated for name, stated, _ in kept}
    for name, _, language in wrong_after:
        print(f"- routed to another language's model: {name} (declared {stated_of[name]!r}, reference "
              f"{reference[name]}, routed {language})")

    print("\nThreshold sweep on pages declaring no language (routed to `en` although not English / to another "
          "language although English):")
    print("| min confidence | dev | held-out |")
    print("|---|---|---|")
    undeclared = [(name, text) for name, stated, text in kept if not stated]
    for threshold in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9):
        cells = []
        for test in (True, False):
            part = [(n, t) for n, t in undeclared if is_dev(n) == test]
            wrong = sum(resolve(None, t, "en", threshold, 0.95) != reference[n] for n, t in part)
            cells.append(f"{wrong} of {len(part)}")
        print(f"| {threshold} | {' | '.join(cells)} |")
    print(f"\nOverride sweep on pages whose declared language the reference confirms (any override is wrong), "
          f"at least {OVERRIDE_MIN_WORDS} words:")
    print("| override confidence | dev | held-out |")
    print("|---|---|---|")
    declared = [(name, stated, text) for name, stated, text in kept if stated]
    for threshold in (0.8, 0.9, 0.95, 0.99):
        cells = []
        for test in (True, False):
            part = [(n, s, t) for n, s, t in declared if is_dev(n) == test]
            wrong = sum(resolve(s, t, "en", MIN_CONFIDENCE, threshold) != reference[n] for n, s, t in part)
            cells.append(f"{wrong} of {len(part)}")
        print(f"| {threshold} | {' | '.join(cells)} |")


# ---------------------------------------------------------------------------------------------------------------
# French dev set


def _f1(tp: int, fp: int, fn: int) -> str:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f"{precision:.3f} / {recall:.3f} / {f1:.3f}"


def _match(ours: list[str], gold: list[str]) -> tuple[int, int, int]:
    """Multiset match of values (accents and case kept apart: 'Elysee' is not 'Élysée' in a facet)."""
    remaining = list(gold)
    tp = 0
    for value in ours:
        if value in remaining:
            remaining.remove(value)
            tp += 1
    return tp, len(ours) - tp, len(remaining)


def bench_french(models: LanguageModels, entity_config) -> None:
    records = [json.loads(line) for line in FRENCH_SET.open(encoding="utf-8")]
    items = [(r["text"], date.fromisoformat(r["published"]), "fr", None, r) for r in records]
    nlp = models.for_language("fr")
    assert nlp is not None, "nlp.models has no fr"
    labels = models.label_map("fr")
    facet = {"PERSON": "person", "ORG": "org", "LOC": "place"}
    print(f"\n## French: {FRENCH_SET.relative_to(PROJECT_ROOT)} ({len(records)} paragraphs), model "
          f"{models.models['fr']}; PER/ORG/LOC facet values and date values, P / R / F1")
    print("| part | raw model spans | newsetl facets | dates |")
    print("|---|---|---|---|")
    totals: dict[str, dict[str, list[int]]] = {}
    raw_docs = list(nlp.pipe([r["text"] for r in records]))
    for (enrichment, record), raw_doc in zip(enrich_texts(models, items, entity_config=entity_config), raw_docs,
                                             strict=True):
        part = totals.setdefault(record["split"], {"raw": [0, 0, 0], "ours": [0, 0, 0], "dates": [0, 0, 0]})
        facets = facet_values(enrichment.entities)
        raw_values: dict[str, list[str]] = {}
        for ent in raw_doc.ents:
            name = facet.get(labels.get(ent.label_, ent.label_))
            if name and ent.text not in raw_values.setdefault(name, []):
                raw_values[name].append(ent.text)
        for name in SCORED_FACETS:
            gold = record["entities"][name]
            for key, ours in (("raw", raw_values.get(name, [])), ("ours", facets[name])):
                for i, n in enumerate(_match(ours, gold)):
                    part[key][i] += n
        for i, n in enumerate(_match([d.value for d in enrichment.dates], record["dates"])):
            part["dates"][i] += n
    for split in ("dev", "heldout"):
        t = totals[split]
        print(f"| {split} | {_f1(*t['raw'])} | {_f1(*t['ours'])} | {_f1(*t['dates'])} |")


# ---------------------------------------------------------------------------------------------------------------
# English output against another checkout


def bench_baseline(baseline: Path, n: int) -> None:
    lines = []
    with gzip.open(CORPORA / "news_bbc2225" / "bbc2225.jsonl.gz", "rt", encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if i >= n:
                break
            record = json.loads(line)
            lines.append(json.dumps({"id": str(i), "text": f"{record['title']}\n\n{record['text']}",
                                     "published": record.get("date") or "2005-01-01", "language": "en"}))
    payload = "\n".join(lines) + "\n"

    def run(checkout: Path) -> list[dict]:
        env = {**os.environ, "NEWSETL_CONFIG": str(checkout / "config" / "settings.yml")}
        out = subprocess.run([str(checkout / ".venv" / "bin" / "newsetl"), "enrich", "--jsonl"], input=payload,
                             capture_output=True, text=True, check=True, env=env, cwd=checkout).stdout
        return [json.loads(line) for line in out.splitlines()]

    ours, theirs = run(PROJECT_ROOT), run(baseline)
    keys = ("id", "entities", "dates")
    same = sum({k: a[k] for k in keys} == {k: b[k] for k in keys} for a, b in zip(ours, theirs, strict=True))
    print(f"\n## English against {baseline}: {same} of {len(ours)} BBC articles with identical entities and dates")
    for a, b in zip(ours, theirs, strict=True):
        if {k: a[k] for k in keys} != {k: b[k] for k in keys}:
            print(f"- differs: article {a['id']}: dates {[(d['text'], d['value']) for d in a['dates']]} vs "
                  f"{[(d['text'], d['value']) for d in b['dates']]}")


def main() -> None:
    """Run the selected sections and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="reuters,pages,french", help="sections, comma-separated")
    parser.add_argument("--reuters", type=int, default=2000, help="first N Reuters stories with text")
    parser.add_argument("--pages", type=int, default=None, help="at most N pages (default: all)")
    parser.add_argument("--baseline", type=Path, help="a checkout with its own .venv: compare English output")
    parser.add_argument("--baseline-n", type=int, default=300)
    parser.add_argument("--skip-before", action="store_true", help="pages: do not re-run the English-model column")
    args = parser.parse_args()
    settings = load_settings()
    models = LanguageModels(settings.nlp.models)
    models.check_installed()
    entity_config = load_entity_config(settings.entities_config)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"models {models.versions()}")
    sections = args.only.split(",")
    if "french" in sections:
        bench_french(models, entity_config)
    if "reuters" in sections:
        bench_reuters(args.reuters)
    if "pages" in sections:
        bench_pages(args.pages, models, entity_config, before=not args.skip_before)
    if args.baseline:
        bench_baseline(args.baseline, args.baseline_n)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
