"""The query language of `newsetl search`: the user's string -> a small typed tree, never query DSL.

Grammar (the conventions of web search engines, so that analysts need not learn a new one)::

    query   := clause+                     clauses are ANDed ("default AND")
    clause  := ["-"] group                 "-" excludes: -word, -"a phrase", -title:word
    group   := term ("OR" term)*           OR binds tighter than the implicit AND: `rates OR prices bank`
                                           means (rates OR prices) AND bank, as on Google
    term    := [field ":"] (word | word"*" | '"' words '"')

Words are analysed by the index (stemming, accent folding); a quoted phrase must occur as written (word
order and adjacency, `match_phrase`); `word*` matches every word that starts with `word`. `OR` is an operator
only in capitals; `or` is a word. Every other character is part of a word, so no input can reach
Elasticsearch as syntax: the tree is turned into a query by code (pipeline/search/query.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Field prefixes of the text: what a user types -> the searchable text it stands for. Facet names (`person:`, ...)
# are added by the caller (pipeline/search/query.py), which knows the facets.
TEXT_FIELDS = {"title": "title", "text": "body", "body": "body"}
# A field prefix is letters and underscores directly followed by ":" and a value ("title:rates", 'title:"a b"');
# "10:30" or "note: x" are words.
_PREFIX = re.compile(r"([A-Za-z_]+):(?=\S)")
_BARE_PREFIX = re.compile(r"-?([A-Za-z_]+):")  # a whole token: a field with nothing after its colon
MIN_PREFIX = 2  # `a*` would expand to most of the vocabulary


class QuerySyntaxError(ValueError):
    """The query string cannot be read; the message says where and how to write it instead."""


@dataclass(frozen=True)
class Word:
    """A word matched through the field's analysis (`rates`, `US`, `AT&T`)."""

    text: str
    field: str | None = None  # None: title and text


@dataclass(frozen=True)
class Phrase:
    """Words that must occur together and in this order (`"interest rates"`)."""

    words: tuple[str, ...]
    field: str | None = None


@dataclass(frozen=True)
class Prefix:
    """Every word starting with `text` (`infla*`)."""

    text: str
    field: str | None = None


Term = Word | Phrase | Prefix


@dataclass(frozen=True)
class Clause:
    """One ANDed part of the query: any of its alternatives (ORed), or none of them when `negated`."""

    alternatives: tuple[Term, ...]
    negated: bool = False


@dataclass(frozen=True)
class Query:
    """The parsed query: every clause must hold (negated clauses must not)."""

    clauses: tuple[Clause, ...]

    @property
    def positive(self) -> tuple[Clause, ...]:
        """The clauses a hit must match."""
        return tuple(c for c in self.clauses if not c.negated)

    @property
    def negative(self) -> tuple[Clause, ...]:
        """The clauses a hit must not match."""
        return tuple(c for c in self.clauses if c.negated)


def _tokens(text: str) -> list[tuple[str, bool, int]]:
    """Split into (token, quoted, offset) triples: quoted phrases keep their prefix and sign glued on
    (`-title:"a b"`); offset is where the token starts in `text` (0-based)."""
    out: list[tuple[str, bool, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        # A quote opens a phrase only at the start of a token or right after a sign/prefix (`-"a b"`, `title:"a b"`).
        head = re.match(r"-?(?:[A-Za-z_]+:)?\"", text[i:])
        if head:
            close = text.find('"', i + head.end())
            if close < 0:
                raise QuerySyntaxError(f'unclosed quote at character {i + head.end()}: close the phrase with "')
            out.append((text[start:close + 1], True, start))
            i = close + 1
            continue
        while i < n and not text[i].isspace():
            i += 1
        out.append((text[start:i], False, start))
    return out


def _term(token: str, quoted: bool, fields: frozenset[str]) -> Term:
    field = None
    match = _PREFIX.match(token)
    if match:
        field = match.group(1).lower()
        if field not in fields:
            raise QuerySyntaxError(f"unknown field {match.group(1)!r} in {token!r}; known fields: "
                                   f"{', '.join(sorted(fields))} (quote the word to search it as text: \"{token}\")")
        token = token[match.end():]
    if quoted:
        words = tuple(token[1:-1].split())
        if not words:
            raise QuerySyntaxError('an empty phrase "" matches nothing: put words between the quotes')
        return Phrase(words, field)
    if token.endswith("*") and len(token) > 1 and "*" not in token[:-1]:
        stem = token[:-1]
        if len(stem) < MIN_PREFIX:
            raise QuerySyntaxError(f"{token!r}: a prefix needs at least {MIN_PREFIX} characters before *")
        return Prefix(stem, field)
    return Word(token, field)


def parse_query(text: str, facet_fields: frozenset[str] = frozenset()) -> Query:
    """Parse a `newsetl search` query string.

    `facet_fields` are extra field prefixes the caller accepts besides title/text/body. Raises QuerySyntaxError
    (a ValueError) for an unclosed quote, an empty phrase, an unknown field prefix, a known field with no value
    (`title:`, naming its character position, 1-based), a dangling OR or "-", or a query without any term.
    """
    fields = frozenset(TEXT_FIELDS) | facet_fields
    clauses: list[Clause] = []
    pending_or = False
    for token, quoted, offset in _tokens(text):
        bare = None if quoted else _BARE_PREFIX.fullmatch(token)
        if bare and bare.group(1).lower() in fields:
            # `title:` or `title: rates`: a field with no value would otherwise be searched as the word "title".
            name = bare.group(1)
            raise QuerySyntaxError(f"{token!r} at character {offset + 1} has no value: write {name}:word or "
                                   f'{name}:"a phrase", with no space after the colon (to search the word, quote '
                                   f'it: "{token}")')
        if token == "OR" and not quoted:
            if not clauses or pending_or or clauses[-1].negated:
                raise QuerySyntaxError("OR needs a term on each side (`rates OR prices`); to find the word, "
                                       'write it in lower case or quote it: "OR"')
            pending_or = True
            continue
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        if token == "-":
            raise QuerySyntaxError('a lone "-" excludes nothing: write -word or -"a phrase"')
        term = _term(body, quoted, fields)
        if pending_or:
            if negated:
                raise QuerySyntaxError(f"OR cannot join an exclusion ({token!r}): write it as a separate -term")
            last = clauses.pop()
            clauses.append(Clause(last.alternatives + (term,)))
            pending_or = False
        else:
            clauses.append(Clause((term,), negated))
    if pending_or:
        raise QuerySyntaxError("OR needs a term on each side: the query ends with OR")
    if not clauses:
        raise QuerySyntaxError("the query has no words")
    return Query(tuple(clauses))


def to_text(query: Query) -> str:
    """The canonical string of a parsed query; `parse_query(to_text(q)) == q` (tested)."""
    def term(t: Term) -> str:
        prefix = f"{t.field}:" if t.field else ""
        if isinstance(t, Phrase):
            return f'{prefix}"{" ".join(t.words)}"'
        if isinstance(t, Prefix):
            return f"{prefix}{t.text}*"
        return prefix + t.text

    return " ".join(("-" if c.negated else "") + " OR ".join(term(t) for t in c.alternatives) for c in query.clauses)
