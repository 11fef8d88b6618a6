"""An article's language: the one its input or page states, else the detected one when the detector is sure,
else the source's configured language.

py3langid's normalised probabilities are the confidence. Short or table-like texts (earnings tables, sports
results) are where a detector guesses: 149 of 1,875 Reuters wire stories were tagged `pcm`, `zxx`, `la`... by the
bare top label. Below MIN_CONFIDENCE the detection is not used; a stated language is overridden only by a detection
of at least OVERRIDE_CONFIDENCE over at least OVERRIDE_MIN_WORDS words (a page template declaring `en` around a
German article). The detector reads the whole text up to SAMPLE_CHARS, not its opening alone: the main text
decides, not a page's first lines (a German blog page whose extracted text opens with 2,000 characters of English PHP
warnings is German on its whole text at 1.0, English on its first 2,000 characters at 0.98; a Chinese page is 0.64
sure on its first 2,000 characters, 0.96 on the whole). Reading 10,000 characters instead of 2,000 costs about 5 ms
of CPU per long article, a few percent of its NER time.

Both thresholds were tuned on a dev part and checked on a held-out part (bench/languages.py,
docs/enrichment.md).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from pipeline.core.text import count_words

MIN_CONFIDENCE = 0.7
OVERRIDE_CONFIDENCE = 0.95
OVERRIDE_MIN_WORDS = 30
SAMPLE_CHARS = 10_000  # the main text, not the opening lines (module docstring)
MIN_WORDS = 3  # fewer words than this are not worth detecting


@dataclass(frozen=True, slots=True)
class Detection:
    """The detector's best language (ISO 639-1 where one exists) and its probability (0..1)."""

    language: str
    confidence: float
    words: int


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    # Loaded once per process; norm_probs turns the naive-Bayes scores into calibrated probabilities.
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, sample_chars: int = SAMPLE_CHARS) -> Detection | None:
    """The detected language of text's first `sample_chars` characters, None for fewer than MIN_WORDS words."""
    sample = text[:sample_chars]
    words = count_words(sample)  # by script: a Chinese or Japanese sample has words without spaces
    if words < MIN_WORDS:
        return None
    language, confidence = _identifier().classify(sample)
    return Detection(language, confidence, words)


def normalize_code(language: str | None) -> str | None:
    """'en-GB' / 'EN_us' -> 'en'; empty -> None."""
    if not language or not language.strip():
        return None
    return language.strip().lower().replace("_", "-").split("-")[0] or None


def language_read_back(stored: str | None, text: str, default: str | None) -> str | None:
    """The language of an article read back from the index to be enriched again (`newsetl reenrich`, `index
    migrate`). A stored ISO 639-1 code is kept; a longer one (`pcm`, `zxx`: what the bare detector label gave
    short wire tables before) never was a statement, so the language is resolved again."""
    code = normalize_code(stored)
    if code and len(code) == 2:
        return code
    return resolve_language(None, text, default)


def resolve_language(stated: str | None, text: str, fallback: str | None, *,
                     min_confidence: float = MIN_CONFIDENCE,
                     override_confidence: float = OVERRIDE_CONFIDENCE) -> str | None:
    """The language an article is enriched as (ISO 639-1 code, or None when nothing says).

    `stated`: the input's or the page's own statement; `fallback`: the source's configured language, else the
    settings' default. The rule and its thresholds: see the module docstring.
    """
    stated = normalize_code(stated)
    detection = detect_language(text)
    if stated:
        if (detection and detection.language != stated and detection.confidence >= override_confidence
                and detection.words >= OVERRIDE_MIN_WORDS):
            return detection.language
        return stated
    if detection and (detection.confidence >= min_confidence or _mostly_non_latin(text)):
        # A text written mostly in another script than Latin (Han, kana, Cyrillic, Arabic...) is not in the
        # configured languages' Latin-script guess: py3langid's top label is taken even when short texts keep its
        # calibrated confidence low (a 50-character Chinese paragraph: 0.70).
        return detection.language
    return normalize_code(fallback)


def _mostly_non_latin(text: str) -> bool:
    """True when fewer than half of the sample's letters are Latin ones (by their Unicode names)."""
    letters = [c for c in text[:SAMPLE_CHARS] if c.isalpha()]
    if len(letters) < MIN_WORDS:
        return False
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return latin < len(letters) / 2
