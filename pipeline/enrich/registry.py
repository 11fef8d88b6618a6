"""The entity registry: what the whole index knows about names, so one real entity gets one value in every article.

Within one article `pipeline.enrich.entities.canonicalize` already makes one value per entity. Across articles the
same entity still shows as "Brian Lara" in one and "Lara" in the next, "GM" beside "General Motors", "Ford Motor Co"
beside "Ford Motor Company". The registry learns from every article it is shown:

- `observe(text, mentions)` records, per name (its case- and accent-insensitive key), the spellings used, the label
  each article gave it, the number of articles, and acronyms an article defines in parentheses
  ("Singapore Airlines (SIA)"); these counts are all that is stored (`NameRecord`), so registries of many runs add up;
- `settle()` turns the counts into a `Resolution`: each name's entity, the entity's label (voted across articles),
  its display form (the most frequent mixed-case spelling) and a stable `id`, and why a name joined an entity;
- `Resolution.resolve(mentions)` rewrites one article's mentions to their entities' values.

Merges are mechanisms with a guard against wrong ones: a short form joins a longer name only when the registry has
exactly one candidate for it ("Lara" -> "Brian Lara"; two "Brown"s stay apart); an acronym joins the name the
articles define it as, or the one known name whose initials it spells; organisation names that differ only by a
legal form (cleanco's tables: "Ford Motor Co" ~ "Ford Motor Company") are one. A name of `config/entities.yml`'s
`distinct` list never joins another one, and its `aliases` (manual merges) are applied before any learning.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, TypeVar

from cleanco import basename

from pipeline.core.facets import entity_id
from pipeline.core.records import Enrichment, EntityMention
from pipeline.core.text import strip_accents_casefold
from pipeline.enrich.annotate import enrich_texts
from pipeline.enrich.entities import (
    EntityConfig,
    country_demonym,
    country_spellings,
    demonym_country,
    known_places,
    same_stem,
    vote_label,
)
from pipeline.enrich.nlp import LanguageModels
from pipeline.enrich.places import PlaceResolver

Context = TypeVar("Context")

# "Singapore Airlines (SIA)": a name directly followed by an all-capitals word in parentheses defines it.
_DEFINED_ACRONYM = re.compile(r"\s*\(\s*([A-Z][A-Z&.]{1,7})\s*\)")
_ACRONYM_SHAPE = re.compile(r"[A-Z][A-Z&]{1,5}")
# Labels whose short forms may stand for a longer name: a place ("Washington") is not "Denzel Washington".
_SHORT_FORM_LABELS = frozenset({"PERSON", "ORG"})
_INITIAL = re.compile(r"[a-z]\.")
# Labels the model gives an initial and a surname ("R. Croft" read as an organisation).
_INITIAL_LABELS = frozenset({"PERSON", "ORG", "NORP"})
_FUNCTION_WORDS = frozenset("of the and for de du la le des on in at to".split())
# Votes for its label of an article whose mention place resolution linked to a gazetteer entry.
PLACE_VOTE = 2


def _key(value: str) -> str:
    return strip_accents_casefold(value)


@dataclass
class NameRecord:
    """What the index knows about one name (key: casefolded, accents stripped): counts only, so records add up."""

    key: str
    forms: Counter[str] = field(default_factory=Counter)  # spelling -> articles using it
    labels: Counter[str] = field(default_factory=Counter)  # label -> articles giving it
    articles: int = 0
    defines: Counter[str] = field(default_factory=Counter)  # for an acronym: long-name key -> articles defining it

    def add(self, other: NameRecord) -> None:
        """Add another record's counts for the same name."""
        if other.key != self.key:
            raise ValueError(f"cannot add the record of {other.key!r} to {self.key!r}")
        self.forms.update(other.forms)
        self.labels.update(other.labels)
        self.articles += other.articles
        self.defines.update(other.defines)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the `<alias>-entities` document of this name)."""
        return {"key": self.key, "forms": dict(self.forms), "labels": dict(self.labels), "articles": self.articles,
                "defines": dict(self.defines)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NameRecord:
        """Inverse of to_dict; raises ValueError on a record that is not one."""
        try:
            return cls(str(data["key"]), Counter(data.get("forms") or {}), Counter(data.get("labels") or {}),
                       int(data.get("articles") or 0), Counter(data.get("defines") or {}))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a name record: {data!r:.200}") from exc


@dataclass(frozen=True)
class Entity:
    """One real entity as the registry settled it."""

    id: str
    name: str  # display form
    label: str
    names: tuple[str, ...]  # keys of the names that resolve to it
    articles: int  # articles mentioning any of its names (counted per name, so an upper bound)
    why: dict[str, str]  # name key -> why it joined (empty for the entity's own name)


@dataclass
class Resolution:
    """The settled registry: name key -> entity, and how to rewrite an article's mentions."""

    entity_of: dict[str, str]  # name key -> entity key
    label_of: dict[str, str]  # entity key -> label
    display_of: dict[str, str]  # entity key -> display form
    why: dict[str, str]  # name key -> the reason it joined another name
    articles: dict[str, int] = field(default_factory=dict)  # name key -> articles that used it
    # The short-form and acronym tables, so a name the registry has not seen yet ("Ardahan" in today's article)
    # still resolves to the one known name it stands for.
    tables: _Tables | None = None
    _place_ids: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def resolve(self, mentions: Iterable[EntityMention]) -> tuple[EntityMention, ...]:
        """The mentions with their entity's canonical name, label and id; unknown names keep their own values."""
        result = []
        for mention in mentions:
            name = _key(mention.canonical)
            # The country place resolution linked a demonym to (a country and no entry of its own), else the one
            # the demonym tables name.
            linked = mention.country if mention.country_code and mention.geonames_id is None else None
            country = linked or demonym_country(mention.canonical, mention.label)
            if country is not None:
                # A nationality word keeps its own name and carries the id of its country's entity.
                entity = self._country_entity(country)
                if entity is not None:
                    mention = replace(mention, id=entity_id(self.label_of[entity], self.display_of[entity]))
                result.append(mention)
                continue
            if mention.label == "NORP" and mention.id and mention.id != entity_id("NORP", mention.canonical):
                # A nationality word the article linked to a place by its id ("Briton" carrying the id of the
                # article's "Britain"): it carries that place's entity's id.
                entity = self.entity_of.get(self._name_of_id().get(mention.id, ""))
                if entity is not None:
                    # One name per id in the norp facet, as in the article (entities.canonicalize).
                    label, display = self.label_of[entity], self.display_of[entity]
                    name = display if label == "NORP" else country_demonym(display) or mention.canonical
                    mention = replace(mention, id=entity_id(label, display), canonical=name)
                result.append(mention)
                continue
            entity = self.entity_of.get(name)
            if entity is None and self.tables is not None:
                found = (self.tables.acronym(mention.canonical.replace(".", ""), self._known)
                         if _ACRONYM_SHAPE.fullmatch(mention.canonical.replace(".", ""))
                         else self.tables.short_form(name, mention.label, self._known))
                entity = found[0] if found else None
            if entity is None:
                result.append(mention)
                continue
            label = self.label_of[entity]
            display = self.display_of[entity]
            result.append(replace(mention, label=label, canonical=display, id=entity_id(label, display)))
        return tuple(result)

    def _name_of_id(self) -> dict[str, str]:
        """Place or group id -> name key of every known name (an id depends only on the facet and the key)."""
        if self._place_ids is None:
            self._place_ids = {entity_id(label, key): key for key in self.entity_of for label in ("GPE", "NORP")}
        return self._place_ids

    def _known(self, key: str) -> str:
        return self.entity_of.get(key, key)

    def _id(self, entity: str) -> str:
        """The id articles carry for an entity: a nationality word of the demonym tables ("Turkish") carries its
        country's id, as `resolve` and place resolution write it: the id of the country's entity when the registry
        knows the country under one of its spellings ("Czech" -> the known "Czechia"), else the country's own;
        any other entity the id of its label and display form."""
        label, display = self.label_of[entity], self.display_of[entity]
        country = demonym_country(display, label) if label == "NORP" else None
        if country is None:
            return entity_id(label, display)
        known = self._country_entity(country)
        if known is None or known == entity:
            return entity_id("GPE", country)
        return entity_id(self.label_of[known], self.display_of[known])

    def _country_entity(self, country: str) -> str | None:
        """The entity of a country the registry knows under one of its spellings (countryinfo's), else None."""
        return next((self.entity_of[_key(spelling)] for spelling in country_spellings(country)
                     if _key(spelling) in self.entity_of), None)

    def entity(self, name: str) -> Entity | None:
        """The entity a name (any spelling) belongs to, with its other names and why they joined; None if unknown."""
        target = self.entity_of.get(_key(name))
        return None if target is None else self.entities()[target]

    def entities(self) -> dict[str, Entity]:
        """Every entity, by the key of its own name."""
        members: dict[str, list[str]] = defaultdict(list)
        for key, entity in self.entity_of.items():
            members[entity].append(key)
        return {
            entity: Entity(self._id(entity), self.display_of[entity],
                           self.label_of[entity], tuple(sorted(names)), sum(self.articles.get(k, 0) for k in names),
                           {k: self.why[k] for k in sorted(names) if k in self.why})
            for entity, names in members.items()
        }


@dataclass
class _Tables:
    """Lookups from a short form or an acronym to the known longer names it may stand for."""

    tails: dict[tuple[str, ...], set[str]]  # last (or first) words of person names -> their keys
    heads: dict[tuple[str, ...], set[str]]  # first words of organisation names -> their keys
    initials: dict[str, set[str]]  # initials of other multi-word names -> their keys
    display: dict[str, str]
    norps: set[str] = field(default_factory=set)  # keys of NORP names ("Kurd", "Republican")

    @classmethod
    def of(cls, names: dict[str, tuple[str, str]]) -> _Tables:
        """Tables over name key -> (label, display form)."""
        tables = cls(defaultdict(set), defaultdict(set), defaultdict(set), {k: d for k, (_, d) in names.items()})
        for key, (label, display) in names.items():
            words = tuple(key.split())
            if label == "NORP":
                tables.norps.add(key)
            if len(words) < 2:
                continue
            for cut in range(1, len(words)):
                if label == "PERSON":
                    tables.tails[words[cut:]].add(key)
                    if cut == 1:  # a first name alone ("Saddam"): only when one known person bears it
                        tables.tails[words[:1]].add(key)
                elif label == "ORG":
                    tables.heads[words[:cut]].add(key)
                    if _is_qualifier(words[0]):
                        # "U.S. Treasury Department", "British Treasury": an organisation is also named without its
                        # country ("Treasury")
                        tables.heads[words[1:cut + 1]].add(key)
            if label != "PERSON":
                for acronym in _initials(display):
                    tables.initials[acronym].add(key)
        return tables

    def short_form(self, key: str, label: str, find: Callable[[str], str]) -> tuple[str, str] | None:
        """(entity key, why) for a short form with exactly one candidate; None when it has none or several."""
        words = tuple(key.split())
        if len(words) >= 2 and _INITIAL.fullmatch(words[0]) and label in _INITIAL_LABELS:
            # "A. Stewart" (a scorecard's or a byline's form): the one known person with that surname and initial.
            people = {find(k) for k in self.tails.get(words[1:], ()) if k[0] == words[0][0] and k != key}
            if len(people) == 1:
                (target,) = people
                return target, f"initial and surname of {self.display.get(target, target)!r}, the only known match"
            return None
        if label == "NORP" and key.endswith("s") and key[:-1] in self.norps:
            return key[:-1], f"plural of {self.display.get(key[:-1], key[:-1])!r}"
        if label not in _SHORT_FORM_LABELS:
            return None
        persons = {find(k) for k in self.tails.get(words, ())}
        orgs = {find(k) for k in self.heads.get(words, ())}
        first, second = (persons, orgs) if label == "PERSON" else (orgs, persons)
        candidates = first or second
        if len(candidates) != 1:
            return None
        (target,) = candidates
        if target == key:
            return None
        kind = "person" if target in persons else "organisation"
        return target, f"short form of {self.display.get(target, target)!r}, the only known {kind} name with it"

    def acronym(self, shape: str, find: Callable[[str], str]) -> tuple[str, str] | None:
        """(entity key, why) for an acronym spelling the initials of exactly one known name."""
        candidates = {find(k) for k in self.initials.get(shape.upper(), ())}
        if len(candidates) != 1:
            return None
        (target,) = candidates
        return target, f"initials of {self.display.get(target, target)!r}, the only known name they spell"


def _is_qualifier(word: str) -> bool:
    """True for a name key's first word that names a country or its people ("u.s.", "british")."""
    return word in known_places() or demonym_country(word, "NORP") is not None


def _initials(name: str) -> set[str]:
    """The acronyms a multi-word name may be written as: initials of every word, and of all but function words
    ("BOJ" and "BJ" for "Bank of Japan")."""
    words = [w for w in name.replace("-", " ").split() if w[0].isalpha()]
    if len(words) < 2:
        return set()
    every = "".join(w[0] for w in words).upper()
    content = "".join(w[0] for w in words if w.lower() not in _FUNCTION_WORDS).upper()
    return {every} | ({content} if len(content) >= 2 else set())


class Registry:
    """Counts of every name seen, learnt article by article; `settle` makes them a `Resolution`."""

    def __init__(self, records: Iterable[NameRecord] = ()) -> None:
        self.records: dict[str, NameRecord] = {}
        for record in records:
            self.add(record)

    def add(self, record: NameRecord) -> None:
        """Merge a stored record into this registry."""
        if record.key in self.records:
            self.records[record.key].add(record)
        else:
            self.records[record.key] = NameRecord(record.key, Counter(record.forms), Counter(record.labels),
                                                  record.articles, Counter(record.defines))

    def observe(self, text: str, mentions: Sequence[EntityMention]) -> list[NameRecord]:
        """Learn from one article's canonicalised mentions; returns the article's own records (the delta)."""
        delta: dict[str, NameRecord] = {}
        for mention in mentions:
            name = _key(mention.canonical)
            record = delta.setdefault(name, NameRecord(name))
            if not record.articles:
                record.articles = 1
                record.forms[mention.canonical] += 1
                # A place the gazetteer resolved is confirmed twice over: the model's label and the gazetteer's
                # entry. It outweighs one article whose model read the same name as an organisation ("the mayor of
                # Lyon"), which re-canonicalisation would otherwise carry into every article of that name.
                record.labels[mention.label] += PLACE_VOTE if mention.geonames_id is not None else 1
            defined = _DEFINED_ACRONYM.match(text, mention.end)
            if defined and " " in mention.canonical.strip():
                acronym = defined.group(1).replace(".", "")
                acronym_record = delta.setdefault(_key(acronym), NameRecord(_key(acronym)))
                if not acronym_record.defines[name]:
                    acronym_record.defines[name] += 1
        for record in delta.values():
            self.add(record)
        return list(delta.values())

    def settle(self, config: EntityConfig | None = None) -> Resolution:
        """Resolve every known name to one entity (see the module docstring for the rules)."""
        config = config or EntityConfig()
        records = self.records
        own_label = {key: config.labels.get(key) or vote_label(r.labels) for key, r in records.items() if r.labels}
        parent: dict[str, str] = {}
        why: dict[str, str] = {}

        def find(key: str) -> str:
            while key in parent:
                key = parent[key]
            return key

        def join(short: str, long: str, reason: str) -> None:
            root = find(long)
            if short in config.distinct or root == short or short in parent:
                return
            parent[short] = root
            why[short] = reason

        # Manual merges (config `aliases`) first: they win over anything learnt. Records written before the alias was
        # configured still carry the variant's own name.
        for key in records:
            canonical = _key(config.aliases.get(key, key))
            if canonical != key and canonical in records:
                parent[key] = canonical
                why[key] = "manual merge (config/entities.yml aliases)"

        # Organisation names that differ only by a legal form: the most used spelling stands for the others.
        by_base: dict[str, list[str]] = defaultdict(list)
        for key, label in own_label.items():
            if label == "ORG":
                by_base[_key(_legal_base(_display(records[key].forms)))].append(key)
        for base, keys in by_base.items():
            if len(keys) > 1 or (base not in keys and base in own_label):
                members = set(keys) | ({base} if base in own_label and own_label[base] == "ORG" else set())
                head = max(members, key=lambda k: (records[k].articles, -len(k), k))
                for key in sorted(members - {head}):
                    join(key, head, f"same organisation without its legal form ({_display(records[head].forms)})")

        # Short forms: one word (or a few) that is the tail of exactly one known person name, or the head of exactly
        # one known organisation name ("Lara" -> "Brian Lara", "Northrop" -> "Northrop Grumman").
        tables = _Tables.of({key: (label, _display(records[key].forms)) for key, label in own_label.items()})
        for key in sorted(own_label, key=lambda k: -len(k.split())):
            if key in parent or key in config.labels:
                continue
            found = tables.short_form(key, own_label[key], find)
            if found:
                join(key, *found)

        # Acronyms: what articles define them as ("Singapore Airlines (SIA)"), else the one known name whose
        # initials they spell ("GM" -> "General Motors", "BOJ" -> "Bank of Japan").
        for key, record in records.items():
            shape = _display(record.forms).replace(".", "") if record.forms else key.upper()
            if key in parent or not _ACRONYM_SHAPE.fullmatch(shape):
                continue
            defined = {find(k): n for k, n in record.defines.items() if k in records}
            if defined:
                best, count = max(defined.items(), key=lambda kv: (kv[1], kv[0]))
                if count * 2 > sum(defined.values()):
                    join(key, best, f"defined in parentheses after {_display(records[best].forms)!r} "
                                    f"in {count} article(s)")
                    continue
            if key in own_label:
                found = tables.acronym(shape, find)
                if found and found[0] != key:
                    join(key, *found)

        # Group words of one stem ("Kurds"/"Kurdish", "Democrat"/"Democratic"): the word the most articles use
        # stands for the other forms, when exactly one other group word shares the stem. Nationality words of
        # the demonym tables are left out: they carry their country's id already.
        groups = [key for key, label in own_label.items()
                  if label == "NORP" and " " not in key and key not in parent and demonym_country(key, "NORP") is None]
        for key in sorted(groups, key=lambda k: (records[k].articles, k)):
            forms = {key, key[:-1]} if key.endswith("s") and len(key) > 4 else {key}
            others = {other for other in groups if other != key and other not in parent
                      and any(same_stem(form, other) for form in forms)}
            if len(others) == 1:
                (other,) = others
                if (records[other].articles, other) > (records[key].articles, key):
                    join(key, other, f"another form of the group word {_display(records[other].forms)!r}")

        entity_of = {key: find(key) for key in records if key in own_label or key in parent}
        members: dict[str, list[str]] = defaultdict(list)
        for key, entity in entity_of.items():
            members[entity].append(key)
        label_of: dict[str, str] = {}
        display_of: dict[str, str] = {}
        for entity, keys in members.items():
            fixed = config.labels.get(entity)
            votes: Counter[str] = Counter()
            for key in keys:
                for label, count in records[key].labels.items():
                    # Longer names are better evidence of the type than a bare surname or acronym.
                    votes[label] += count * len(key.split())
            # The entity's own name decides (its votes across the index); the short forms and acronyms that joined
            # it only when it has none.
            label_of[entity] = fixed or own_label.get(entity) or vote_label(votes)
            display_of[entity] = _display(records[entity].forms)
        return Resolution(entity_of, label_of, display_of, why, {key: records[key].articles for key in entity_of},
                          tables)


def changed_names(before: Resolution, after: Resolution, registry: Registry) -> dict[str, set[str]]:
    """The names whose value changed from one settled registry to the next, each with the name keys an indexed
    article may hold it under (its own key and, when known, the key of the entity it resolved to before).

    A name known before changed when its entity's label or display form is another now (a new alias joined it to a
    longer name, a label vote flipped, a manual merge or split); a name new to the registry changed when it joined
    another name, or when articles gave it several spellings or labels (an article's own value may then differ from
    the entity's). `registry` holds the counts `after` was settled from.
    """
    changed: dict[str, set[str]] = {}
    for key, entity in after.entity_of.items():
        now = (after.label_of[entity], after.display_of[entity])
        old_entity = before.entity_of.get(key)
        if old_entity is not None:
            if (before.label_of[old_entity], before.display_of[old_entity]) != now:
                changed[key] = {key, old_entity}
            continue
        record = registry.records.get(key)
        if entity != key or record is None or len(record.labels) > 1 or len(record.forms) > 1:
            changed[key] = {key}
    return changed


def _display(forms: Counter[str]) -> str:
    """The most frequent mixed-case spelling; ALL CAPS (a dateline, a headline) only when there is no other."""
    if not forms:
        return ""
    return max(forms, key=lambda s: (not s.isupper() or len(s) <= 5, forms[s], s))


def _legal_base(name: str) -> str:
    """The organisation name without legal forms, by cleanco's tables ("Samsung Electronics Co Ltd" -> "Samsung
    Electronics"); the name itself when nothing would be left."""
    current = name
    while True:
        shorter = basename(current)
        if not shorter.strip() or shorter == current:
            return current
        current = shorter


def enrich_across(
    models: LanguageModels,
    items: Iterable[tuple[str, date | None, str | None, str | None, Context]],
    *,
    batch_size: int = 64,
    entity_config: EntityConfig | None = None,
    places: PlaceResolver | None = None,
    registry: Registry | None = None,
) -> Iterator[tuple[Enrichment, Context]]:
    """Enrich (text, publication day, language, date order, context) items as one corpus: every article is read,
    the registry learns from all of them, then every article's mentions are resolved against it (`newsetl enrich
    --jsonl --across`). Holds the enrichments (not the texts) of the whole input in memory. `registry` starts from
    what an index already knows."""
    registry = registry if registry is not None else Registry()
    done = []
    for enrichment, context in enrich_texts(models, ((text, day, language, order, (text, context))
                                                     for text, day, language, order, context in items),
                                            batch_size=batch_size, entity_config=entity_config, places=places):
        text, own = context
        registry.observe(text, enrichment.entities)
        done.append((enrichment, own))
    resolution = registry.settle(entity_config)
    for enrichment, context in done:
        yield replace(enrichment, entities=resolution.resolve(enrichment.entities)), context

