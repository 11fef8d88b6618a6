"""Duplicate-story grouping: pairwise precision and recall on Reuters wires plus edited copies of them.

    .venv/bin/python bench/stories.py --n 3000 --copied 1000

The set is built here, in memory, from ../shared/corpora/news_reuters21578 (read by path, never copied):
- the first N wires with a body, exact-duplicate bodies dropped (Reuters-21578 repeats some wires verbatim: those
  are one story, and keeping both would count as ground truth "different stories");
- for `--copied` of them, chosen at random, 1-3 republished copies, each with a random mix of the edits the issue
  names and a few more: a new headline, the last paragraph trimmed, a credit line added, a dateline prefix
  ("LONDON (Reuters) - "), rewrapped lines, and a few words changed.
Ground truth: a copy belongs to its original's story; all originals are distinct stories. The articles are fed to
`assign_stories` in a shuffled order (copies can come before their original, as they do across feeds). Pairs are
counted over all articles: a pair is predicted-same when both get the same story_id.

Wires too short to fingerprint (under MIN_WORDS words) are never grouped; their copies count as misses in recall
and are also reported on their own.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import re
import time
from collections import Counter
from math import comb
from pathlib import Path

from pipeline.core.settings import PROJECT_ROOT
from pipeline.index.stories import MIN_WORDS, SIMILARITY, assign_stories, fingerprint

REUTERS = PROJECT_ROOT.parent / "shared" / "corpora" / "news_reuters21578" / "reuters21578.jsonl.gz"

CREDITS = ["(Reporting by Jane Doe; Editing by John Smith)", "Copyright Reuters 1987. All rights reserved.",
           "Additional reporting by the London newsroom.", "-- Distributed by the wire service --"]
DATELINES = ["LONDON (Reuters) - ", "NEW YORK, March 3 - ", "(Reuters) - "]
SYNONYMS = {"said": "stated", "company": "firm", "pct": "percent", "mln": "million", "billion": "bln"}


def load_wires(path: Path, n: int) -> list[dict[str, str]]:
    """The first n Reuters wires with a body, exact-duplicate bodies (after spacing) dropped."""
    seen: set[str] = set()
    wires = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            body = (record.get("body") or "").replace("\n Reuter\n", "\n").strip()
            key = " ".join(body.split())
            if not body or key in seen:
                continue
            seen.add(key)
            wires.append({"id": f"r{record['newid']}", "title": record.get("title") or "", "body": body})
            if len(wires) == n:
                break
    return wires


def edited_copy(body: str, rng: random.Random) -> str:
    """A republished copy: at least one edit, chosen at random among those a syndicating site makes."""
    paragraphs = [p for p in re.split(r"\n\s{2,}|\n\n", body) if p.strip()]
    edits = rng.sample(["trim", "credit", "dateline", "rewrap", "words"], k=rng.randint(1, 3))
    if "trim" in edits and len(paragraphs) > 2:
        paragraphs = paragraphs[:-1]
    text = "\n\n".join(paragraphs)
    if "words" in edits:
        text = " ".join(SYNONYMS.get(w, w) if rng.random() < 0.5 else w for w in text.split(" "))
    if "dateline" in edits:
        text = rng.choice(DATELINES) + text
    if "credit" in edits:
        text += "\n\n" + rng.choice(CREDITS)
    if "rewrap" in edits:
        text = " ".join(text.split())
    return text


def pair_counts(truth: dict[str, str], predicted: dict[str, str]) -> tuple[int, int, int]:
    """(true positives, predicted pairs, true pairs) over all unordered pairs of articles."""
    both = Counter((truth[d], predicted[d]) for d in truth)
    tp = sum(comb(c, 2) for c in both.values())
    return tp, sum(comb(c, 2) for c in Counter(predicted.values()).values()), \
        sum(comb(c, 2) for c in Counter(truth.values()).values())


def main() -> None:
    """Build the set, group it, print pairwise precision/recall and timing."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REUTERS)
    parser.add_argument("--n", type=int, default=3000, help="original wires")
    parser.add_argument("--copied", type=int, default=1000, help="wires that get 1-3 edited copies")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    wires = load_wires(args.corpus, args.n)
    articles = [(w["id"], w["body"], w["id"]) for w in wires]
    for wire in rng.sample(wires, min(args.copied, len(wires))):
        for k in range(rng.randint(1, 3)):
            articles.append((f"{wire['id']}-copy{k}", edited_copy(wire["body"], rng), wire["id"]))
    rng.shuffle(articles)
    truth = {doc_id: story for doc_id, _body, story in articles}

    started = time.perf_counter()
    fingerprints = [(doc_id, fingerprint(body)) for doc_id, body, _story in articles]
    fp_seconds = time.perf_counter() - started
    predicted = assign_stories(fingerprints, ())
    total_seconds = time.perf_counter() - started

    tp, predicted_pairs, true_pairs = pair_counts(truth, predicted)
    short = {doc_id for doc_id, fp in fingerprints if not fp.comparable}
    short_truth = {d: s for d, s in truth.items() if s in short}
    missed_short = pair_counts(short_truth, {d: predicted[d] for d in short_truth})[2]
    long_truth = {d: s for d, s in truth.items() if s not in short}
    ltp, lpred, ltrue = pair_counts(long_truth, {d: predicted[d] for d in long_truth})

    print(f"machine: {platform.machine()} {platform.processor() or ''} · Python {platform.python_version()}")
    print(f"set: {len(wires)} distinct Reuters wires + {len(articles) - len(wires)} edited copies "
          f"= {len(articles)} articles, {len(set(truth.values()))} stories; similarity >= {SIMILARITY}, "
          f"min {MIN_WORDS} words")
    print(f"pairs: true {true_pairs}, predicted {predicted_pairs}, correct {tp}")
    print(f"precision {tp / predicted_pairs if predicted_pairs else 1:.4f}  recall {tp / true_pairs:.4f}")
    print(f"wires with >= {MIN_WORDS} words only: precision {ltp / lpred if lpred else 1:.4f}  "
          f"recall {ltp / ltrue if ltrue else 1:.4f} ({ltrue} true pairs); "
          f"pairs of short wires never grouped: {missed_short}")
    print(f"time: fingerprints {fp_seconds:.2f} s ({1000 * fp_seconds / len(articles):.2f} ms/article), "
          f"grouping {total_seconds - fp_seconds:.2f} s")
    originals = {w["id"] for w in wires}
    per_story = Counter(predicted[o] for o in originals)
    merged_originals = [o for o in originals if per_story[predicted[o]] > 1]
    misplaced = [d for d in truth if d not in originals and predicted[d] != predicted[truth[d]]
                 and per_story[predicted[d]] > 0]
    print(f"originals merged with another original: {len(merged_originals)}; copies placed in another original's "
          f"story while their own original is elsewhere: {len(misplaced)}")
    wrong = Counter()
    for doc_id, story in predicted.items():
        if truth[doc_id] != truth.get(story, story):
            wrong[(truth[doc_id], truth.get(story, story))] += 1
    bodies = {doc_id: body for doc_id, body, _ in articles}
    for (a, b), _count in wrong.most_common(5):
        print(f"\nfalse merge {a} ~ {b}:\n  {' '.join(bodies[a].split())[:200]}\n  {' '.join(bodies[b].split())[:200]}")


if __name__ == "__main__":
    main()
