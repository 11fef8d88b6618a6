"""Place resolution against real news, in one run: precision/recall on gold, variants among top places, speed.

    .venv/bin/python bench/places.py [--corpora ../shared/corpora] [--make-gold] [--reuters 2000] [--speed 300]

Gold (bench/gold/places_aida.tsv) holds only a corpus file path, the article id inside it, character offsets, the
expected GeoNames id and its GeoNames name, and the split: no corpus text. It is made (`--make-gold`) from the
AIDA-CoNLL dev set, whose place mentions carry Wikidata ids: a Wikidata label that names exactly one entry of the
packaged gazetteer gives that entry; a label naming several entries ("London", "Paris") is decided by the Wikidata
id in QID_TO_GEONAMES (checked by hand); other labels (entries the packaged data lacks: Chechnya, Kurdistan, the
Oval) are counted as "no entry" and left out. Demonyms linked to their country ("German") are not place mentions.
Articles alternate between dev (tuned on) and held-out (scored, never read).

Scores: a mention is right when the resolved entry is the gold one, or in the same country within 25 km of it;
precision = right / resolved, recall = right / gold mentions. "Confident wrong points on ambiguous names" counts
wrong resolutions of gold mentions whose name has several entries in the gazetteer (target 0). A metonymic gold
link (the surface names the resolved place, which lies inside the gold entry, and is no name of the gold entry:
"Moscow" linked to Russia) counts as right and is shown in its own column (see `metonymic`), for every mention alike.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import os
import re
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.throughput import corpus_records, cpu_model  # noqa: E402
from pipeline.core.settings import load_settings  # noqa: E402
from pipeline.enrich.annotate import enrich_texts  # noqa: E402
from pipeline.enrich.entities import load_entity_config  # noqa: E402
from pipeline.enrich.gazetteer import build_gazetteer  # noqa: E402
from pipeline.enrich.nlp import LanguageModels  # noqa: E402
from pipeline.enrich.places import PLACE_LABELS  # noqa: E402
from pipeline.index.version import resolver_of  # noqa: E402

GOLD = ROOT / "bench" / "gold" / "places_aida.tsv"
AIDA = "el_aida_conll_dev/aida_dev.jsonl"
BBC, REUTERS = "news_bbc2225/bbc2225.jsonl.gz", "news_reuters21578/reuters21578.jsonl.gz"
# Wikidata ids of AIDA place labels that name several gazetteer entries -> the GeoNames id meant (by hand).
QID_TO_GEONAMES = {
    "Q84": 2643743, "Q649": 524901, "Q61": 4140963, "Q766": 3489940, "Q90": 2988507, "Q1761": 2964574,
    "Q727": 2759794, "Q822": 272103, "Q2256": 2655603, "Q399": 174982, "Q35381": 1248991, "Q2807": 3117735,
    "Q1741": 2761369, "Q96": 3996063, "Q810": 248816, "Q24639": 6173331, "Q16557": 4684888, "Q220": 3169070,
    "Q72259": 2639996, "Q18125": 2643123, "Q3306": 3703443, "Q739": 3686110, "Q65": 5368361, "Q100": 4930956,
    "Q3766": 170654, "Q42651": 1790923, "Q23154": 2654675, "Q34217": 2640729, "Q1183": 4566966,
    "Q16552": 5391811, "Q49145": 4839366, "Q71": 2660646, "Q1930": 6094817, "Q23768": 5506956, "Q8673": 2332459,
    "Q236": 3194884, "Q16568": 4160021, "Q41819": 4393217, "Q49219": 5359777, "Q48": 6255147,
    "Q23661": 2179537, "Q192240": 2641430, "Q10686": 2655984, "Q2096": 5946768, "Q717": 3625428,
    "Q1492": 3128760, "Q2634": 3172394, "Q2887": 3871336, "Q641": 3164603, "Q1354": 1185241,
}


# AIDA links nationality words to their country ("Scottish", "Serb", "Brazilian-born"); they are no place names.
_ADJECTIVE = re.compile(r"(?i)(?:ean|can|ian|ish|ese|ic|i|ine|av|rb)s?(?:-born)?$")


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine, mean Earth radius 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


def metonymic(resolver, surface: str, expected, resolved) -> bool:
    """True when a gold link is metonymic: the surface names the resolved place, which lies inside the gold
    entry, and is no name of the gold entry at all ("Moscow said" linked to Russia, "Washington" to the United
    States). Toponym resolution resolves the place a name names (Gritta et al. 2018, "What's missing in
    geographical parsing?", score metonymic toponyms at the named place); entity linking links the referent.
    Such a mention counts as right, and is counted apart so the figure shows it. A surface that names both
    ("KUWAIT" dateline: the country and Kuwait City) is no metonymy: a wrong pick there stays wrong."""
    names = {p.geonames_id for p, _primary in resolver.gazetteer.candidates(surface)}
    names |= {p.geonames_id for p in resolver.candidates(surface)}
    inside = (expected.kind == "country" and resolved.country_code == expected.country_code) or (
        expected.kind == "region" and (resolved.country_code, resolved.admin1) == (expected.country_code,
                                                                                   expected.admin1))
    return (resolved.geonames_id != expected.geonames_id and inside and expected.geonames_id not in names
            and resolved.geonames_id in names)


def aida_docs(corpora: Path) -> dict[str, dict]:
    with (corpora / AIDA).open(encoding="utf-8") as handle:
        return {str(d["doc_id"]): d for d in map(json.loads, handle)}


def make_gold(corpora: Path, resolver) -> None:
    rows, no_entry, demonyms = [], 0, 0
    for n, (doc_id, doc) in enumerate(aida_docs(corpora).items()):
        for m in doc["mentions"]:
            if m["type"] != "LOC" or m.get("qid") in (None, "<NIL>"):
                continue
            if not resolver.candidates(m["text"]) and (resolver.gazetteer.demonym(m["text"])
                                                       or _ADJECTIVE.search(m["text"])):
                demonyms += 1
                continue
            entries = {p.geonames_id: p for p in resolver.candidates(m["name"]) or resolver.candidates(m["text"])}
            geonames_id = QID_TO_GEONAMES.get(m["qid"]) if len(entries) > 1 else next(iter(entries), None)
            if geonames_id is None:
                no_entry += 1
                continue
            rows.append([AIDA, doc_id, m["start"], m["end"], geonames_id, resolver.place(geonames_id).name,
                         "dev" if n % 2 == 0 else "heldout"])
    GOLD.parent.mkdir(parents=True, exist_ok=True)
    with GOLD.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["path", "article", "start", "end", "geonames_id", "geonames_name", "split"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} gold place mentions to {GOLD.relative_to(ROOT)}; left out {no_entry} linked place "
          f"mentions without an entry in the packaged gazetteer and {demonyms} demonyms")


def score(corpora: Path, models: LanguageModels, rules, resolver) -> None:
    with GOLD.open(encoding="utf-8") as handle:
        gold = list(csv.DictReader(handle, delimiter="\t"))
    docs = aida_docs(corpora)
    wanted = sorted({g["article"] for g in gold}, key=int)
    items = ((docs[a]["text"], date.fromisoformat(docs[a]["published"]) if docs[a].get("published") else None, "en",
              None, a) for a in wanted)
    predicted = {a: e.entities for e, a in enrich_texts(models, items, batch_size=32, entity_config=rules,
                                                        places=resolver)}
    stats = {split: Counter() for split in ("dev", "heldout")}
    wrong_examples, metonymic_examples = [], []
    for g in gold:
        s = stats[g["split"]]
        start, end, expected = int(g["start"]), int(g["end"]), resolver.place(int(g["geonames_id"]))
        s["gold"] += 1
        hits = [m for m in predicted[g["article"]] if m.label in PLACE_LABELS and m.start < end and start < m.end]
        ambiguous = len(resolver.candidates(docs[g["article"]]["text"][start:end])) > 1
        s["ambiguous"] += ambiguous
        resolved = [m for m in hits if m.geonames_id is not None]
        if not hits:
            s["not found by NER"] += 1
            continue
        if not resolved:
            s["unresolved"] += 1
            continue
        m = resolved[0]
        s["resolved"] += 1
        right = m.geonames_id == expected.geonames_id or (
            m.country_code == expected.country_code and km(m.lat, m.lon, expected.lat, expected.lon) <= 25)
        surface = docs[g["article"]]["text"][start:end]
        if right:
            s["right"] += 1
        elif metonymic(resolver, surface, expected, resolver.place(m.geonames_id)):
            s["right"] += 1
            s["metonymic gold"] += 1
            metonymic_examples.append((g["split"], g["article"], surface, expected.name, m.canonical))
        else:
            s["wrong"] += 1
            s["confident wrong on ambiguous names"] += ambiguous
            wrong_examples.append((g["split"], g["article"], start, expected.geonames_id, m.geonames_id))
    print("\n## Resolution on AIDA-CoNLL dev (gold: bench/gold/places_aida.tsv)")
    print("| split | gold mentions | of them ambiguous names | resolved | right | of them metonymic gold | wrong | "
          "confident wrong on ambiguous names | unresolved | not found by NER | precision | recall |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for split, s in stats.items():
        precision = s["right"] / s["resolved"] if s["resolved"] else 0.0
        recall = s["right"] / s["gold"] if s["gold"] else 0.0
        print(f"| {split} | {s['gold']} | {s['ambiguous']} | {s['resolved']} | {s['right']} | "
              f"{s['metonymic gold']} | {s['wrong']} | "
              f"{s['confident wrong on ambiguous names']} | {s['unresolved']} | {s['not found by NER']} | "
              f"{precision:.3f} | {recall:.3f} |")
    for split, article, surface, expected_name, got_name in metonymic_examples:
        print(f"- metonymic gold ({split}): article {article}: {surface!r} linked to {expected_name}, "
              f"resolved to {got_name}")
    for split, article, start, expected_id, got_id in wrong_examples:
        print(f"- wrong ({split}): article {article} offset {start}: expected {expected_id}, got {got_id}")


def corpus_texts(path: Path, n: int) -> list[tuple[str, date | None]]:
    """The first n articles with text of a BBC or Reuters corpus, as (title + text, publication day)."""
    texts = []
    for record in corpus_records(path, n):
        title, text = record["title"], record["text"]
        day = date.fromisoformat(record["published"][:10]) if record.get("published") else None
        texts.append((f"{title}\n\n{text}" if title and not text.startswith(title) else text, day))
    return texts


def variants(corpora: Path, models: LanguageModels, rules, resolver, n_reuters: int) -> None:
    texts = corpus_texts(corpora / BBC, 10**6) + corpus_texts(corpora / REUTERS, n_reuters)
    counts = {"main (no resolution)": Counter(), "this branch": Counter()}
    resolved_value: dict[str, int] = Counter()
    entries_of_value: dict[str, set[int]] = {}  # a resolved value -> the entries its mentions were resolved to
    unresolved_value: Counter[str] = Counter()  # place values with mentions left unresolved
    # One NER pass: resolution runs after canonicalisation, so main's mentions + the resolver = this branch's.
    for without, text in enrich_texts(models, ((t, d, "en", None, t) for t, d in texts), batch_size=64,
                                      entity_config=rules):
        with_places = resolver.resolve(text, without.entities)
        for name, mentions in (("this branch", with_places), ("main (no resolution)", without.entities)):
            counts[name].update({m.canonical for m in mentions if m.label in ("GPE", "LOC", "FAC")})
        for m in with_places:
            if m.geonames_id is not None:
                resolved_value[m.canonical] += 1
                entries_of_value.setdefault(m.canonical, set()).add(m.geonames_id)
            elif m.label in ("GPE", "LOC", "FAC"):
                unresolved_value[m.canonical] += 1
    print(f"\n## Top 200 place values: BBC ({len(texts) - n_reuters} articles) + Reuters ({n_reuters})")
    print("| enrichment | top values resolved | place values that differ only by name variant (pairs) |")
    print("|---|---|---|")
    for name, counter in counts.items():
        top = [value for value, _ in counter.most_common(200)]
        by_entry: dict[int, list[str]] = {}
        for value in top:
            # A value stands for the entries its mentions were resolved to (the state "New York" of "ARMONK,
            # N.Y." is not the city, whatever the bare name "New York" resolves to) and, when some of its mentions
            # stayed unresolved, for the entry its name resolves to alone.
            entries = set(entries_of_value.get(value, ())) if name == "this branch" else set()
            if (name != "this branch" or unresolved_value[value]) and (
                    chosen := resolver.explain(value).chosen) is not None:
                entries.add(chosen.geonames_id)
            for geonames_id in entries:
                by_entry.setdefault(geonames_id, []).append(value)
        duplicates = {i: vs for i, vs in by_entry.items() if len(vs) > 1}
        share = sum(1 for v in top if resolved_value.get(v)) / len(top) if name == "this branch" else float("nan")
        print(f"| {name} | {share:.3f} | {sum(len(vs) - 1 for vs in duplicates.values())} |")
        if duplicates and name == "this branch":
            print("  duplicates left:", sorted(duplicates.values())[:10])


def speed(corpora: Path, models: LanguageModels, rules, resolver, n: int) -> None:
    """CPU time of this process (time.process_time), not wall time: other jobs on a shared machine delay a run's
    wall clock but hardly its own CPU seconds, so the ratios hold under load. Resolution is also timed alone, on
    the mentions of one earlier pass, as CPU microseconds per place mention."""
    nlp = models.for_language("en")
    texts = [t for t, _ in corpus_texts(corpora / BBC, n)]
    words = sum(len(t.split()) for t in texts)
    list(nlp.pipe(texts[:20]))  # warm-up
    mentioned = [(text, e.entities) for e, text in enrich_texts(models, ((t, None, "en", None, t) for t in texts),
                                                                 batch_size=64, entity_config=rules)]
    place_mentions = sum(1 for _, entities in mentioned for m in entities if m.label in PLACE_LABELS)
    runs: dict[str, list[float]] = {"NER ceiling (nlp.pipe)": [], "main enrichment (no resolution)": [],
                                    "enrichment with places": [], "resolution alone": []}
    for _round in range(3):
        started = time.process_time()
        for _doc in nlp.pipe(texts, batch_size=64):
            pass
        runs["NER ceiling (nlp.pipe)"].append(time.process_time() - started)
        for name, places in (("main enrichment (no resolution)", None), ("enrichment with places", resolver)):
            started = time.process_time()
            for _ in enrich_texts(models, ((t, None, "en", None, None) for t in texts), batch_size=64,
                                  entity_config=rules, places=places):
                pass
            runs[name].append(time.process_time() - started)
        started = time.process_time()
        for text, entities in mentioned:
            resolver.resolve(text, entities)
        runs["resolution alone"].append(time.process_time() - started)
    best = {name: min(values) for name, values in runs.items()}
    ceiling = best["NER ceiling (nlp.pipe)"]
    print(f"\n## Speed: {len(texts)} BBC articles, {words:,} words, {place_mentions:,} place mentions, 1 process, "
          f"CPU time of the process, best of 3 interleaved rounds; load average {os.getloadavg()[0]:.1f} at the end")
    print("| run | CPU s | words per CPU s | ratio to the NER ceiling |")
    print("|---|---|---|---|")
    for name, seconds in best.items():
        if name != "resolution alone":
            print(f"| {name} | {seconds:.2f} | {words / seconds:,.0f} | {ceiling / seconds:.3f} |")
    alone = best["resolution alone"]
    print(f"- resolution alone: {alone:.3f} CPU s = {alone / max(place_mentions, 1) * 1e6:.0f} µs per place mention "
          f"= {alone / ceiling:.3%} of the NER ceiling's CPU time")
    print(f"- with places / without: {best['main enrichment (no resolution)'] / best['enrichment with places']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--make-gold", action="store_true", help="write bench/gold/places_aida.tsv and stop")
    parser.add_argument("--only", default="resolution,variants,speed")
    parser.add_argument("--reuters", type=int, default=2000, help="Reuters articles beside BBC for the variants")
    parser.add_argument("--speed", type=int, default=300, help="BBC articles timed")
    args = parser.parse_args()
    settings = load_settings()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    rss = psutil.Process().memory_info().rss
    started = time.perf_counter()
    build_gazetteer()
    built = time.perf_counter() - started
    gc.collect()
    rss_built = psutil.Process().memory_info().rss
    started = time.perf_counter()
    resolver = resolver_of(settings)
    loaded = time.perf_counter() - started
    print(f"gazetteer ({resolver.gazetteer.data_version}, {len(resolver.gazetteer.rows):,} entries, "
          f"{len(resolver.gazetteer.names) + len(resolver.gazetteer.alternates):,} name keys): built from the "
          f"packages in {built:.2f} s, loaded from the cache in {loaded:.2f} s; resident memory after building "
          f"and loading it: +{(psutil.Process().memory_info().rss - rss) / 2**20:.0f} MiB "
          f"(+{(rss_built - rss) / 2**20:.0f} MiB after the build alone, its garbage collected)")
    if args.make_gold:
        make_gold(args.corpora, resolver)
        return
    # Every text here is English: the English pipeline alone, as enrich_texts takes it.
    models = LanguageModels({"en": settings.nlp.models["en"]})
    rules = load_entity_config(settings.entities_config)
    only = args.only.split(",")
    if "resolution" in only:
        score(args.corpora, models, rules, resolver)
    if "variants" in only:
        variants(args.corpora, models, rules, resolver, args.reuters)
    if "speed" in only:
        speed(args.corpora, models, rules, resolver, args.speed)


if __name__ == "__main__":
    main()
