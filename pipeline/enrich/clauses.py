"""Which way a bare weekday or month points, read off the dependency parse of the clause that governs it.

"The ministry will present the plan on Thursday, officials said": "Thursday" attaches to "present", whose modal
"will" makes the coming Thursday meant; the reporting verb "said" is not the date's clause and does not decide.
"Talks have been postponed until Monday": the target of a postponement is ahead. "He said on Monday": past.

Only sentences that hold a date needing a direction are parsed (lazily, once each), so the parser's cost is paid
on a small share of the text. The parse comes from the same spaCy model as NER (its tagger and parser, which share
their own tok2vec); a model without a parser gives no direction and the word cues of `pipeline.enrich.dates` decide.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # spaCy is imported where a model is loaded, not by every process that imports this module
    from spacy.language import Language
    from spacy.tokens import Doc, Token

# Predicates whose complement is ahead of them: a thing planned, scheduled, expected or set happens later than the
# plan ("planned a demonstration on Saturday", "agreed to acquire it in January"). A linguistic class (future-
# oriented predicates), not a list of date words.
_PLANNING = frozenset({
    "plan", "schedule", "set", "slate", "expect", "due", "intend", "aim", "propose", "promise", "vow", "pledge",
    "agree", "prepare", "hope", "want", "seek", "threaten", "vote", "decide", "go", "ready", "poised", "likely",
    "payable", "effective",
})
# Verbs that move an event: the target of "until/to/till/by/for" is ahead; the day of the act itself is not.
_MOVING = frozenset({"postpone", "delay", "defer", "adjourn", "reschedule", "push", "put", "move", "extend",
                     "suspend", "halt", "close", "freeze",
                     # verbs that set a deadline: "has given them until Tuesday to sign", "granted a week"
                     "give", "grant", "allow"})
_TARGET_PREPOSITIONS = frozenset({"until", "till", "til", "to", "by", "for", "through", "into"})
# "until", "by", "through" bound a period that is still running unless the clause is plainly in the past.
_BOUND_PREPOSITIONS = frozenset({"until", "till", "til", "by", "through", "before"})
# Reporting verbs in the present ("the ministry says on Monday") are journalistic present: they do not point ahead.
_REPORTING = frozenset({"say", "tell", "announce", "report", "confirm", "add", "note", "state", "claim", "deny",
                        "write", "insist", "warn", "argue", "explain", "acknowledge", "admit", "reveal", "show"})
_PRESENT_TAGS = frozenset({"VBZ", "VBP"})
# English verbs whose simple past is their base form (a closed class of irregular verbs): after a plural subject
# the tagger's present reading of them is a guess.
_INVARIANT_PAST = frozenset({"hurt", "cut", "put", "set", "hit", "cost", "let", "shut", "spread", "quit", "bet",
                             "cast", "burst", "split", "shed", "upset", "broadcast", "forecast", "bid", "thrust",
                             "slit", "rid", "read"})
# A sentence ends at . ! ? and a space, but not after an abbreviation: initials and "a.m." ("until 9 a.m. Tuesday",
# "the U.S. Senate"), a title or a month ("Mr.", "Gen.", "Oct. 12").
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\.[A-Za-z]\.)(?<!\b[A-Z][a-z]\.)(?<!\b[A-Z][a-z]{2}\.)(?<!\bSept\.)"
                           r"[\"'”’)]*\s+|\n")
_FINISHED = re.compile(r"[.!?][\"'”’)]*\s*$")


def load_parser(nlp: Language) -> Language | None:
    """The tagger and parser of the model `nlp` was loaded from (no NER), or None when that model has no parser.

    Cached per model path and process; call it before forking workers so they share the loaded parser.
    """
    path = getattr(nlp, "path", None)
    if path is None:
        return None
    return _load_parser(str(path))


_PARSERS: dict[str, Language | None] = {}


def _load_parser(path: str) -> Language | None:
    if path not in _PARSERS:
        import spacy

        try:
            # The lemmatizer (rule-based, reads the tagger's output) gives the predicate's lemma; NER is not needed.
            full = spacy.load(path, exclude=["ner", "senter", "entity_linker", "textcat"])
        except OSError:
            full = None
        _PARSERS[path] = full if full is not None and "parser" in full.pipe_names else None
    return _PARSERS[path]


class ClauseDirection:
    """Direction of a date expression in one text: +1 ahead, -1 back, None when the parse cannot tell.

    Callable as `direction(start, end)` with character offsets into the text; parses the sentence around the
    span on first use and keeps it for the other dates of the same sentence.
    """

    def __init__(self, parser: Language, text: str) -> None:
        self._parser = parser
        self._text = text
        self._sentences: dict[int, tuple[Doc, bool]] = {}
        self.parsed = 0  # sentences parsed, for the benchmark's cost figure

    def __call__(self, start: int, end: int) -> int | None:
        begin, stop = self._sentence_bounds(start, end)
        if begin not in self._sentences:
            sentence = self._text[begin:stop]
            self._sentences[begin] = (self._parser(sentence), bool(_FINISHED.search(sentence)))
            self.parsed += 1
        doc, finished = self._sentences[begin]
        span = doc.char_span(start - begin, end - begin, alignment_mode="expand")
        if span is None or not len(span):
            return None
        return clause_direction(span.root, finished=finished)

    def _sentence_bounds(self, start: int, end: int) -> tuple[int, int]:
        begin = 0
        for m in _SENTENCE_END.finditer(self._text, 0, start):
            begin = m.end()
        after = _SENTENCE_END.search(self._text, end)
        return begin, (after.start() if after else len(self._text))


def _object_before(verb: Token, date_i: int) -> bool:
    """The verb's direct object stands between it and the date ("planned a demonstration | on Saturday")."""
    return any(c.dep_ == "dobj" and verb.i < c.i < date_i for c in verb.children)


# The date is an adverbial of a simple past verb ("changed ... in December", "the quarter ended Oct. 31"): past
# beyond doubt, even for a day a few weeks after the publication date. Negative like -1; callers that only need the
# side compare with 0.
SETTLED_PAST = -2


def clause_direction(date_token: Token, *, finished: bool = True) -> int | None:
    """+1, -1 (SETTLED_PAST when a simple past verb governs the date directly) or None for the date whose
    syntactic root is date_token, from the predicate that governs it.

    `finished` is False for a sentence without final punctuation (a headline), where the present tense reports
    the past ("Apple unveils iPhone on Tuesday") and so decides nothing.
    """
    preposition = date_token.head.lower_ if date_token.dep_ == "pobj" else ""
    if date_token.dep_ == "npadvmod" and date_token.head.dep_ == "pobj":  # "until 9 a.m. Tuesday"
        preposition = date_token.head.head.lower_
    node = date_token
    through_noun = False  # "Thursday's closing price", "the vote in October": the date qualifies a noun
    while node.head.i != node.i:
        if node.i != date_token.i and node.tag_.startswith("NN"):
            through_noun = True
        node = node.head
        if node.tag_.startswith("VB") or node.tag_ == "MD":
            break
        if node.lower_ in _PLANNING and node.tag_.startswith("JJ"):  # "due on Monday", "ready by Friday"
            return 1
    else:
        if not (node.tag_.startswith("VB") or node.tag_ == "MD"):
            return None
    if any(c.dep_ == "mark" and date_token.i < c.i < node.i for c in node.children):
        # The date comes before the complementiser that opens the verb's clause ("warnings on Thursday that
        # strikes could do harm"): it cannot belong to that clause, the parse attached it wrongly.
        return None
    return _predicate_direction(node, preposition, finished and not through_noun, depth=0,
                                direct=not through_noun, date_i=date_token.i)


def _predicate_direction(verb: Token, preposition: str, finished: bool, depth: int,
                         direct: bool = False, date_i: int = -1) -> int | None:
    """`direct`: the date is an adverbial of this very verb (not of its object or of a clause below it);
    `date_i`: the date's token index."""
    auxiliaries = [c for c in verb.children if c.dep_ in ("aux", "auxpass")]
    lemma = verb.lemma_.lower() if verb.lemma_ else verb.lower_
    if any(a.tag_ == "MD" for a in auxiliaries):
        return 1  # will, would, 'll, shall, may, could, must: what is announced or expected is ahead
    if (lemma in _PLANNING or verb.lower_ in _PLANNING) and not (
            direct and verb.tag_ == "VBD" and not _object_before(verb, date_i)):
        # "planned a rally on Saturday", "is scheduled for Friday": the planned thing is ahead; but "agreed in
        # June" dates the agreeing itself, as past as the verb. A date after the planned thing's noun dates that
        # thing, wherever the parser attached it ("planned a large demonstration on Saturday").
        return 1
    if lemma in _MOVING and preposition in _TARGET_PREPOSITIONS:
        return 1
    infinitive = any(a.lower_ == "to" for a in auxiliaries)
    if verb.dep_ == "acl" and infinitive:
        return 1  # "an agreement to acquire it in January", "plans to build": what a noun intends is ahead
    if verb.dep_ in ("xcomp", "advcl", "ccomp") and infinitive and depth < 3:
        # An infinitive: "is to meet", "going to meet" and "planned to meet" point ahead; "refused to comment" is
        # as past as its governor.
        governor = verb.head
        if governor.lower_ in _PLANNING or (governor.lemma_ or "").lower() in _PLANNING or governor.lemma_ == "be":
            return 1
        return _predicate_direction(governor, preposition, finished, depth + 1)
    has_perfect = any(a.lower_ in ("has", "have", "'ve", "'s") and a.tag_ in _PRESENT_TAGS for a in auxiliaries)
    past = verb.tag_ == "VBD" or any(a.tag_ == "VBD" for a in auxiliaries)
    if preposition in _BOUND_PREPOSITIONS and not (past or has_perfect):
        return 1  # "the offer runs until Monday", "is valid through January"; "has fallen through Oct. 19" is past
    if direct and verb.tag_ == "VBD" and not auxiliaries:
        return SETTLED_PAST
    if past or has_perfect:
        return -1
    if verb.tag_ == "VBN":
        return -1  # a reduced relative: "the plan announced Monday"
    if verb.tag_ == "VBG" and not auxiliaries and depth < 3 and verb.head.i != verb.i:
        # "..., with the third departing each Thursday": the participle takes the time of the nearest verb above
        governor = next((a for a in verb.ancestors if a.tag_.startswith("VB") or a.tag_ == "MD"), None)
        return None if governor is None else _predicate_direction(governor, preposition, finished, depth + 1)
    present = verb.tag_ in _PRESENT_TAGS or any(a.tag_ in _PRESENT_TAGS for a in auxiliaries)
    if verb.tag_ == "VBP" and not auxiliaries and verb.lower_ in _INVARIANT_PAST:
        return None  # "losses hurt the index on Friday": the form is past as well as present, the tag a guess
    if present and finished and lemma not in _REPORTING:
        return 1  # "the vote takes place on Sunday", "he is meeting them on Friday": scheduled
    return None
