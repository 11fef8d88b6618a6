"""Duplicate stories: fingerprints, similarity and story assignment (pipeline/stories.py)."""

import pytest

from pipeline.index.stories import (
    MIN_WORDS,
    SIMILARITY,
    Fingerprint,
    StoryCandidate,
    assign_stories,
    choose_story,
    fingerprint,
    shingles,
    similarity,
)

WIRE = (
    "The central bank raised its main interest rate by half a point on Thursday, the third increase this year, "
    "saying inflation had proved more stubborn than expected.\n\n"
    "Governor Maria Lindqvist told reporters the board had been unanimous and that further moves would depend "
    "on wage settlements due in the spring.\n\n"
    "Markets had expected a quarter-point rise. The currency jumped one percent against the euro after the "
    "announcement, and bank shares rose.\n\n"
    "Economists said the decision showed the bank was willing to risk slower growth to bring prices under control."
)
OTHER = (
    "The central bank left its main interest rate unchanged on Thursday, pausing after two increases, and said "
    "it would watch how households cope with higher mortgage payments before deciding on its next step.\n\n"
    "Governor Maria Lindqvist said the economy was cooling faster than the board had forecast in the autumn, "
    "and that unemployment was likely to rise through the summer months."
)


def republished(text: str, *, trim: bool = False, credit: bool = False, dateline: bool = False) -> str:
    paragraphs = text.split("\n\n")
    if trim:
        paragraphs = paragraphs[:-1]
    out = "\n\n".join(paragraphs)
    if dateline:
        out = "STOCKHOLM (Wire) - " + out
    if credit:
        out += "\n\n(Reporting by Jan Berg; Editing by Anna Holm)"
    return out


@pytest.mark.parametrize(("a", "b"), [
    ("Hello, World! Big news today", "hello world big news TODAY"),
    ("one two  three\nfour five", "One, two; three - four... five"),
])
def test_shingles_ignore_case_punctuation_and_spacing(a, b):
    assert shingles(a) == shingles(b)


@pytest.mark.parametrize(("edits", "copy"), [
    ("identical", WIRE),
    ("last paragraph trimmed", republished(WIRE, trim=True)),
    ("credit line added", republished(WIRE, credit=True)),
    ("dateline added", republished(WIRE, dateline=True)),
    ("all three", republished(WIRE, trim=True, credit=True, dateline=True)),
    ("rewrapped", " ".join(WIRE.split())),
])
def test_republished_copies_are_similar(edits, copy):
    assert similarity(fingerprint(WIRE), fingerprint(copy)) >= SIMILARITY, edits


def test_a_different_story_on_the_same_subject_is_not_similar():
    assert similarity(fingerprint(WIRE), fingerprint(OTHER)) < 0.2


def test_fingerprints_are_deterministic_and_survive_storage():
    fp = fingerprint(WIRE)
    assert fingerprint(WIRE) == fp
    assert Fingerprint.decode(fp.encoded(), list(fp.bands)) == fp


@pytest.mark.parametrize("body", ["", "Too short to tell.", " ".join(["word"] * (MIN_WORDS - 1))])
def test_short_bodies_are_never_compared(body):
    fp = fingerprint(body)
    assert not fp.comparable
    assert similarity(fp, fp) == 0.0


def candidate(doc_id: str, story: str, text: str = WIRE) -> StoryCandidate:
    return StoryCandidate(doc_id, story, fingerprint(text))


@pytest.mark.parametrize(("doc_id", "candidates", "expected"), [
    ("new", [], "new"),                                                     # nothing similar: its own story
    ("new", [candidate("a", "s-a")], "s-a"),                                # a stored copy: its story
    ("new", [candidate("b", "s-b", OTHER)], "new"),                         # similar subject is not enough
    ("new", [candidate("b", "s-z"), candidate("a", "s-a")], "s-a"),         # equal scores: smallest story id
    ("a", [candidate("a", "s-old")], "a"),                                  # its own stored version is no evidence
])
def test_choose_story(doc_id, candidates, expected):
    assert choose_story(doc_id, fingerprint(WIRE), candidates) == expected


def test_assign_stories_groups_copies_in_any_order_and_keeps_others_apart():
    items = [("copy1", fingerprint(republished(WIRE, credit=True))), ("other", fingerprint(OTHER)),
             ("orig", fingerprint(WIRE)), ("copy2", fingerprint(republished(WIRE, trim=True, dateline=True))),
             ("short", fingerprint("Brief: markets closed."))]
    stories = assign_stories(items, known=())
    assert stories["copy1"] == stories["orig"] == stories["copy2"] == "copy1"  # the first seen names the story
    assert stories["other"] == "other" and stories["short"] == "short"


def test_assign_stories_joins_a_story_already_in_the_index():
    stored = [candidate("orig", "orig")]
    stories = assign_stories([("late-copy", fingerprint(republished(WIRE, trim=True)))], known=stored)
    assert stories == {"late-copy": "orig"}


# ---------------------------------------------------------------------------------------------------------------
# Two runs at once: whatever the interleaving of their assign / write / look-again steps, copies end in one story


_TOPICS = [
    "The harbour authority confirmed on Monday that the northern ferry line will stop at the new pier from March, "
    "after months of tests of the mooring system and long talks with the crews about their shifts.",
    "The city council voted on Thursday to extend the opening hours of its public libraries to Sunday afternoons, "
    "starting with the main library on the river bank and two smaller branches in the suburbs.",
    "A fire in a paint warehouse near the airport was put out after six hours, the fire brigade said, adding that "
    "nobody was hurt and that the smoke had drifted over empty fields rather than the town.",
]


def _interleavings():
    from hypothesis import strategies as st

    # Each run: (assign, write, look again) in that order; the schedule says whose step comes next.
    return st.permutations(["A", "A", "A", "B", "B", "B"])


def test_concurrent_runs_over_copies_converge_to_one_story_per_topic():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pipeline.index.stories import merge_order, story_merges

    prints = {topic: fingerprint(text) for topic, text in enumerate(_TOPICS)}

    @settings(max_examples=150, deadline=None)
    @given(schedule=_interleavings(),
           layout=st.lists(st.tuples(st.sampled_from("AB"), st.integers(0, 2)), min_size=2, max_size=7))
    def check(schedule, layout):
        # layout: one article per item, (run, topic); ids are unique, copies share a topic's text.
        docs = {"AB"[0]: [], "AB"[1]: []}
        topic_of = {}
        for n, (run, topic) in enumerate(layout):
            doc_id = f"d{n:02d}{run}"
            docs[run].append(doc_id)
            topic_of[doc_id] = topic
        stored: dict[str, str] = {}  # doc_id -> story_id, what the index holds
        chosen: dict[str, dict[str, str]] = {}
        step = {"A": 0, "B": 0}

        def known() -> list[StoryCandidate]:
            return [StoryCandidate(d, story, prints[topic_of[d]]) for d, story in stored.items()]

        for run in schedule:
            ids = docs[run]
            if step[run] == 0:  # assign from what is stored
                chosen[run] = assign_stories([(d, prints[topic_of[d]]) for d in ids], known())
            elif step[run] == 1:  # write
                stored.update(chosen[run])
            else:  # look again and merge
                for high, low in merge_order(story_merges([(d, prints[topic_of[d]]) for d in ids], known())):
                    stored.update({d: low for d, story in stored.items() if story == high})
            step[run] += 1

        by_topic: dict[int, set[str]] = {}
        for doc_id, story in stored.items():
            by_topic.setdefault(topic_of[doc_id], set()).add(story)
        assert all(len(stories) == 1 for stories in by_topic.values()), by_topic  # copies together
        firsts = [next(iter(stories)) for stories in by_topic.values()]
        assert len(set(firsts)) == len(firsts)  # and unrelated topics apart

    check()


def test_a_run_alone_merges_nothing():
    from pipeline.index.stories import story_merges

    items = [("a", fingerprint(WIRE)), ("b", fingerprint(WIRE)), ("c", fingerprint(OTHER))]
    stories = assign_stories(items, [])
    known = [StoryCandidate(d, stories[d], fp) for d, fp in items]
    assert story_merges(items, known) == {}
