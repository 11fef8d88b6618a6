"""Duplicate stories: MinHash fingerprints of article bodies, LSH band keys, and story_id assignment.

Syndicated wire copies and republished stories differ by a headline, a trimmed last paragraph or a credit line,
so two articles are copies when their bodies share most word 4-grams: Jaccard similarity estimated by MinHash
(datasketch) of at least SIMILARITY. Candidates are found by LSH: the signature is cut into bands, and articles
sharing any band key are compared. Band keys are stored on each document (`story_bands`), so the index itself is
the LSH table and a copy published months after the original is still found, across runs and processes.

The parameters are code, not settings: documents fingerprinted with other parameters would never match, so a
change here is a new pipeline version (and a `newsetl index migrate`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.core.text import word_shingles

SHINGLE_WORDS = 4
NUM_PERM = 128
SIMILARITY = 0.5
# Below this many words one short edit changes too large a part of the few shingles: such articles keep their own
# story. 4-grams, 0.5 and 15 words were chosen on bench/stories.py (docs/search.md has the comparison).
MIN_WORDS = 15
_SEED = 1  # fixed, like the scheme: signatures must be comparable across processes, runs and library upgrades
_SCHEME = "affine32"



@dataclass(frozen=True, slots=True)
class _Hashing:
    """datasketch's band layout (`bands` of `rows` rows each) and the seeded hash permutations, made once."""

    bands: int
    rows: int
    permutations: Any
    minhash: Any  # datasketch.MinHash


@functools.cache
def _hashing() -> _Hashing:
    # datasketch (which imports scipy) is loaded on the first fingerprint, not when the module is imported: an
    # unchanged re-run never fingerprints, and the import was a tenth of its time (docs/performance.md).
    from datasketch import MinHash, MinHashLSH

    # datasketch picks the band layout (b bands of r rows) minimising false positives and negatives at the
    # threshold; the seeded permutations are drawn once (per article they were a fifth of the fingerprinting time).
    lsh = MinHashLSH(threshold=SIMILARITY, num_perm=NUM_PERM)
    permutations = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations
    return _Hashing(lsh.b, lsh.r, permutations, MinHash)

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """MinHash signature of an article body and its LSH band keys; empty for bodies too short to compare."""

    signature: bytes = b""
    bands: tuple[str, ...] = ()

    @property
    def comparable(self) -> bool:
        """False for short bodies, which are never grouped with another article."""
        return bool(self.bands)

    def encoded(self) -> str:
        """The signature as base64, the form stored in `story_signature`."""
        return base64.b64encode(self.signature).decode("ascii")

    @classmethod
    def decode(cls, signature: str | None, bands: Iterable[str] | None) -> Fingerprint:
        """Inverse of encoded() plus the stored band keys."""
        if not signature:
            return cls()
        return cls(base64.b64decode(signature), tuple(bands or ()))


def shingles(text: str) -> set[bytes]:
    """Word 4-grams of the lower-cased text, punctuation and spacing ignored."""
    return word_shingles(text, SHINGLE_WORDS)


def fingerprint(body: str) -> Fingerprint:
    """The body's fingerprint; bodies under MIN_WORDS words get an empty one."""
    if len(_WORD.findall(body)) < MIN_WORDS:
        return Fingerprint()
    hashing = _hashing()
    minhash = hashing.minhash(num_perm=NUM_PERM, seed=_SEED, permutations=hashing.permutations, scheme=_SCHEME)
    minhash.update_batch(list(shingles(body)))
    values = minhash.hashvalues.astype("<u4")  # datasketch's 32-bit hashes, kept in 4 bytes each
    rows = hashing.rows
    bands = tuple(
        f"{band:02d}{hashlib.blake2b(values[band * rows:(band + 1) * rows].tobytes(), digest_size=8).hexdigest()}"
        for band in range(hashing.bands)
    )
    return Fingerprint(values.tobytes(), bands)


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Estimated Jaccard similarity of the two bodies' shingle sets (0 when either is not comparable)."""
    if not (a.comparable and b.comparable) or len(a.signature) != len(b.signature):
        return 0.0
    return float(np.mean(np.frombuffer(a.signature, "<u4") == np.frombuffer(b.signature, "<u4")))


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """An article already assigned to a story, as found through a shared band key."""

    doc_id: str
    story_id: str
    fingerprint: Fingerprint


def choose_story(doc_id: str, fp: Fingerprint, candidates: Iterable[StoryCandidate]) -> str:
    """The story of the most similar candidate at or above SIMILARITY, else the article's own id.

    Ties go to the smallest story id, so the choice does not depend on the order candidates arrive in; the
    article's own earlier version is never its own evidence.
    """
    best: tuple[float, str] | None = None
    for candidate in candidates:
        if candidate.doc_id == doc_id:
            continue
        score = similarity(fp, candidate.fingerprint)
        if score >= SIMILARITY and (best is None or (-score, candidate.story_id) < (-best[0], best[1])):
            best = (score, candidate.story_id)
    return best[1] if best else doc_id


class StoryTable:
    """Band key -> articles: the in-memory part of the LSH table for articles not yet searchable in the index."""

    def __init__(self) -> None:
        self._by_band: dict[str, list[StoryCandidate]] = {}

    def add(self, candidate: StoryCandidate) -> None:
        """Make an article findable by its band keys."""
        for band in candidate.fingerprint.bands:
            self._by_band.setdefault(band, []).append(candidate)

    def candidates(self, fp: Fingerprint) -> list[StoryCandidate]:
        """Articles sharing at least one band key with `fp`, each once."""
        found: dict[str, StoryCandidate] = {}
        for band in fp.bands:
            for candidate in self._by_band.get(band, ()):
                found.setdefault(candidate.doc_id, candidate)
        return list(found.values())


def assign_stories(items: list[tuple[str, Fingerprint]], known: Iterable[StoryCandidate]) -> dict[str, str]:
    """story_id for each (doc_id, fingerprint), in order: matched against `known` and the items before it."""
    table = StoryTable()
    for candidate in known:
        table.add(candidate)
    stories: dict[str, str] = {}
    for doc_id, fp in items:
        story = choose_story(doc_id, fp, table.candidates(fp)) if fp.comparable else doc_id
        stories[doc_id] = story
        if fp.comparable:
            table.add(StoryCandidate(doc_id, story, fp))
    return stories


def story_merges(written: list[tuple[str, Fingerprint]], known: Iterable[StoryCandidate]) -> dict[str, str]:
    """Stories to merge after a write: {story id: the smaller story id it merges into}.

    `written` are the (doc_id, fingerprint) pairs a run just wrote, `known` every stored article sharing a band
    key with them (the written ones included, with their stories as stored now). A written article's story
    merges with another story when it matches an article there at least as closely as any article of its own
    story (ties merge: two articles equally close to the same text are copies of each other). Two runs that
    wrote copies at the same moment both find the pair and merge into the same, smaller id, whatever the order
    of their writes. A run alone merges nothing: each article joined the story of its closest match (or a tie
    between stories went to the smaller id, which is then its own).
    """
    table = StoryTable()
    now: dict[str, str] = {}
    for candidate in known:
        table.add(candidate)
        now[candidate.doc_id] = candidate.story_id
    merges: dict[str, str] = {}
    for doc_id, fp in written:
        mine = now.get(doc_id)
        if mine is None:
            continue
        own, other, other_story = -1.0, -1.0, None
        for candidate in table.candidates(fp):
            if candidate.doc_id == doc_id:
                continue
            score = similarity(fp, candidate.fingerprint)
            if candidate.story_id == mine:
                own = max(own, score)
            elif score >= SIMILARITY and (score > other or (score == other and candidate.story_id < other_story)):
                other, other_story = score, candidate.story_id  # the closest; a tie goes to the smaller id
        if other_story is not None and other >= own:
            high, low = max(other_story, mine), min(other_story, mine)
            merges[high] = min(low, merges.get(high, low))
    return merges


def merge_order(merges: dict[str, str]) -> list[tuple[str, str]]:
    """The merges as (from, into) pairs in the order to apply them: largest id first, so a chain a -> b -> c
    ends in c."""
    return [(high, merges[high]) for high in sorted(merges, reverse=True)]
