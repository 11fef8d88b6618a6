"""Plain-text normalisation shared by every input format: Unicode repair, control characters, paragraphs."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import ftfy
import regex

# C0/C1 control characters except tab and newline; they break JSON consumers and terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Candidate sentence ends: . ! ? (optionally closed by a quote) then space and an upper-case start.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?\s+(?=[\"“‘'(]?[A-Z0-9])")
# Words after which a full stop does not end a sentence ("U.S. President", "Mr. Smith").
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]|\b(?:[A-Z]\.)+[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Lt|Col|Jr|Sr|No|vs|Inc|Corp|Co))$"
)

TITLE_MAX_CHARS = 160


def normalize_text(text: str) -> str:
    """Repair mojibake, NFC-normalise, drop control characters and collapse spaces, keeping lines."""
    # Repair encoding damage only: quotes, ligatures and full-width forms are the author's text, keep them.
    text = ftfy.fix_text(text, normalization="NFC", uncurl_quotes=False, fix_latin_ligatures=False,
                         fix_character_width=False)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip()


def paragraphs_from_blank_lines(text: str) -> list[str]:
    """Split plain text on blank lines; lines inside a paragraph are joined with a space."""
    return [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(normalize_text(text)) if p.strip()]


def join_paragraphs(paragraphs: list[str]) -> str:
    """The body format used everywhere downstream: paragraphs separated by one blank line."""
    return "\n\n".join(p for p in paragraphs if p)


def first_sentence(text: str) -> str:
    """The first sentence of a text, for articles without a title; cut at a word boundary if very long."""
    paragraph = text.strip().split("\n", 1)[0]
    sentence = paragraph
    for match in _SENTENCE_END.finditer(paragraph):
        if not _ABBREVIATION.search(paragraph[: match.start()]):
            sentence = paragraph[: match.end()]
            break
    sentence = sentence.strip()
    if len(sentence) <= TITLE_MAX_CHARS:
        return sentence
    cut = sentence[:TITLE_MAX_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


_SHINGLE_WORD = re.compile(r"\w+")


def word_shingles(text: str, size: int = 4) -> set[bytes]:
    """Word n-grams of the lower-cased text, punctuation and spacing ignored (the whole text when shorter)."""
    words = _SHINGLE_WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def strip_accents_casefold(text: str) -> str:
    """A comparison key: case- and accent-insensitive."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Function words that stay lower-case when an ALL-CAPS line is re-cased; short other words stay upper-case
# because in capitals they are mostly acronyms (NATO, US, UN, BBC).
_LOWER_WORDS = frozenset("a an and as at but by for from in into of on or over the to with".split())
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
ACRONYM_MAX_LETTERS = 4


def _recase_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.lower() in _LOWER_WORDS:
        return word.lower()
    if len(word) <= ACRONYM_MAX_LETTERS and "'" not in word and "’" not in word:
        return word
    head, _, tail = word.replace("’", "'").partition("'")
    recased = head.capitalize() + ("'" + tail.lower() if _ else "")
    return recased if "’" not in word else recased.replace("'", "’")


def recase_shouting(text: str) -> str:
    """Give ALL-CAPS lines (wire headlines, datelines) sensible case for NER; same length, so offsets hold."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        letters = [c for c in line if c.isalpha()]
        if len(letters) < 5 or sum(c.isupper() for c in letters) < 0.8 * len(letters):
            continue
        recased = _WORD.sub(_recase_word, line)
        if len(recased) == len(line):
            lines[i] = recased
    return "\n".join(lines)


def title_case_headline_end(text: str) -> int:
    """End of a Title Case headline: the first line, followed by a blank line, of 4+ words whose capitalised words
    are at least 3 in 4; else 0."""
    first, sep, _rest = text.partition("\n\n")
    words = [w for w in first.split() if w[:1].isalpha()]
    if not sep or "\n" in first or len(words) < 4:
        return 0
    return len(first) if sum(w[0].isupper() for w in words) >= 0.75 * len(words) else 0


_SENTENCE_START = re.compile(r"(?:^|[.!?:;]['\"’”)]?\s+|\n\s*)$")


def sentence_case_headline(text: str) -> str:
    """The text with a Title Case headline in sentence case, the way NER was trained to read names; same length,
    so offsets hold.

    In "Veltrix Joins Samsung in Berlin to Showcase Advanced Battery Analytics" every word looks like a name and the
    model reads "Veltrix Joins Samsung" as one person. A headline word keeps its capital only when it is the first
    word, is written in capitals (an acronym), or the body writes it capitalised where a sentence does not start
    (a name: "Samsung", "Berlin"); the others are lower-cased ("joins", "showcase"). Text without such a headline
    is returned unchanged.
    """
    end = title_case_headline_end(text)
    letters = [c for c in text[:end] if c.isalpha()]
    if not end or sum(c.isupper() for c in letters) >= 0.8 * len(letters):
        return text  # no Title Case headline; an ALL-CAPS one is recase_shouting's
    body = text[end:]
    named = {m.group(0) for m in _WORD.finditer(body)
             if m.group(0)[0].isupper() and not _SENTENCE_START.search(body[:m.start()])}

    def lowered(match: re.Match[str]) -> str:
        word = match.group(0)
        if match.start() == 0 or not word[0].isupper() or word.isupper() or word in named:
            return word
        return word[0].lower() + word[1:]

    return _WORD.sub(lowered, text[:end]) + body


# Unicode scripts written without spaces between words. Each of their characters counts as one word, the
# convention of Microsoft Word's and Google Docs' word counts for East Asian text: a Chinese or Japanese article of
# 800 characters is then ~800 "words", not the 2 that whitespace splitting finds. Script data: the `regex` module
# (Unicode Script property).
_UNSPACED_CHAR = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")
# A run of anything else that is not whitespace is one word ("Lyon", "5", "U.S."), so mixed text counts both.
_WORD_OR_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]|[^\s\p{Han}\p{Hiragana}\p{Katakana}]+")


def count_words(text: str) -> int:
    """Words in `text`: whitespace-separated runs, plus one per Han/Hiragana/Katakana character.

    `len(text.split())` for text without CJK characters, so figures for spaced scripts do not change.
    """
    if not _UNSPACED_CHAR.search(text):
        return len(text.split())
    return sum(1 for _ in _WORD_OR_UNSPACED.finditer(text))


def cut_words(text: str, limit: int) -> str:
    """The start of `text` up to its `limit`-th word (as `count_words` counts), spacing inside it kept."""
    for number, match in enumerate(_WORD_OR_UNSPACED.finditer(text), start=1):
        if number == limit:
            return text[:match.end()]
    return text


# Characters that must never reach a terminal raw: C0/C1 controls (ESC starts colour, cursor and title
# sequences), DEL, bidirectional overrides and isolates (they reorder what is shown, "Trojan Source", CVE-2021-42574),
# zero-width characters, line/paragraph separators, and lone surrogates (non-UTF-8 bytes of a file name).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` safe to print on one terminal line: every unprintable character shown as a Python escape.

    "a\\x1b[31m" for an ESC, "\\u202e" for a right-to-left override, "\\udcff" for an undecodable file-name byte;
    everything else (accents, CJK, emoji) is kept as it is.
    """
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


SHOWN_REF_CHARS = 200


def shortened(text: str, limit: int = SHOWN_REF_CHARS) -> str:
    """`text` as shown to a reader: whole up to `limit` characters, else its start and its end around
    "…[N characters]…" (a feed link with a 40,000-character query string filled the screen of a run summary).
    JSON output keeps the whole value; only what people read is cut."""
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 3
    return f"{text[:head]}…[{len(text) - head - tail:,} characters]…{text[-tail:]}"


_ESCAPED_BYTE = re.compile(r"\\x([0-9a-f]{2})")


def path_text(path: os.PathLike[str] | str) -> str:
    """A file path as valid Unicode text for references, ledger keys and reports.

    A name that is not valid UTF-8 (Python keeps its bytes as lone surrogates, PEP 383) gets each such byte as
    `\\xNN`; JSON, Elasticsearch and terminals refuse lone surrogates. `path_from_text` reverses it.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def path_from_text(text: str) -> Path:
    """The path `path_text` was made from: the literal path when it exists, else with `\\xNN` read as bytes."""
    literal = Path(text)
    if literal.exists() or not _ESCAPED_BYTE.search(text):
        return literal
    return Path(_ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text))
