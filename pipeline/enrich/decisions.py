"""Manual entity decisions (`newsetl entities merge|split`) written into the entity rules file, the later one winning.

A merge is an alias (`aliases: {INTO: [..., NAME]}`), a split an entry of the `distinct` list; both are read by
`pipeline.enrich.entities.load_entity_config` and honoured by `pipeline.enrich.registry.Registry.settle`. Written
one after the other without looking back they contradict each other: `merge A B` then `split A` left A a spelling
of B *and* put B (the distinct list is read through the aliases) on the distinct list, so the split undid nothing
and blocked B's learning instead. Here a decision first takes out what an earlier one said about the same name:

- `record_split(path, A)`: A leaves the alias entry it was merged into, then joins the distinct list (once);
- `record_merge(path, A, B)`: A leaves the distinct list and another name's alias entry, then becomes a spelling
  of B, or of the name B is itself a configured spelling of.

The file is edited line by line (comments and layout kept), every result is checked by loading it, and the file is
left as it was when the decision cannot be written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.core.text import strip_accents_casefold
from pipeline.enrich.entities import EntityConfig, load_entity_config

_PLAIN = re.compile(r"[^\W_][\w .&'/-]*[\w.]|[^\W_]")  # written without quotes when YAML reads it back unchanged
_TOP_KEY = re.compile(r"^[^\s#-]")  # a line that starts the next top-level key


@dataclass
class Decision:
    """What a manual decision wrote: the rules as they are now, and what it took back from earlier decisions."""

    config: EntityConfig
    notes: list[str] = field(default_factory=list)
    written: bool = True


def record_split(path: Path | str, name: str) -> Decision:
    """`newsetl entities split NAME`: NAME is its own entity. Taken out of the alias entry an earlier merge put it
    in, then added to the `distinct` list (not twice). A name that has configured spellings of its own keeps them
    (a note says so). Raises ValueError when the file cannot be made to say it (nothing is written then)."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else None
    config = load_entity_config(path)
    key = _key(name)
    notes: list[str] = []
    lines = _lines(path)
    canonical = config.aliases.get(key)
    if canonical is not None and _key(canonical) != key:
        lines = _without_alias(lines, canonical, key)
        notes.append(f"{name!r} is no longer a spelling of {canonical!r} (an earlier merge, taken back)")
    if key in _distinct_names(lines):
        notes.append(f"{name!r} was already on the distinct list")
    else:
        lines = _with_distinct(lines, name)
    result = _write(path, lines) if lines != _lines(path) else config
    if (now := result.aliases.get(key)) is not None and _key(now) != key or key not in result.distinct:
        _put_back(path, old)
        raise ValueError(f"{path} keeps {name!r} a spelling of another name in a form this command does not edit: "
                         f"take it out of that alias by hand")
    own = sorted(v for v, c in result.aliases.items() if _key(c) == key and v != key)
    if own:
        notes.append(f"{name!r} keeps its configured spellings ({', '.join(own)}); split each of them to separate it")
    return Decision(result, notes, written=result is not config)


def record_merge(path: Path | str, name: str, into: str) -> Decision:
    """`newsetl entities merge NAME INTO`: NAME is another spelling of INTO (of the name INTO is a configured
    spelling of, when it is one). NAME leaves the distinct list and any other alias entry first. Refused with
    ValueError, nothing written, when NAME has configured spellings of its own (they would have to follow it: a
    decision about more names than the one given) or the file cannot be made to say it."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else None
    config = load_entity_config(path)
    key = _key(name)
    target = config.aliases.get(_key(into), into)
    notes: list[str] = []
    if _key(target) != _key(into):
        notes.append(f"{into!r} is a configured spelling of {target!r}: {name!r} joins {target!r}")
    if _key(target) == key:
        raise ValueError(f"{into!r} is a configured spelling of {name!r}: cannot merge {name!r} into it")
    current = config.aliases.get(key)
    if current is not None and _key(current) == _key(target):
        return Decision(config, [*notes, f"{name!r} already is a spelling of {target!r}"], written=False)
    own = sorted(v for v, c in config.aliases.items() if _key(c) == key and v != key)
    if own:
        raise ValueError(f"{name!r} has configured spellings of its own in {path} ({', '.join(own)}): merge them "
                         f"one by one, or edit the file")
    lines = _lines(path)
    if current is not None and _key(current) != key:
        lines = _without_alias(lines, current, key)
        notes.append(f"{name!r} is no longer a spelling of {current!r} (an earlier merge, replaced)")
    if key in _distinct_names(lines):
        lines = _without_distinct(lines, key)
        notes.append(f"{name!r} is off the distinct list (an earlier split, taken back)")
    result = _write(path, _with_alias(lines, target, name))
    if _key(result.aliases.get(key, name)) != _key(target) or _key(target) in result.distinct - config.distinct:
        _put_back(path, old)
        raise ValueError(f"{path} keeps an earlier decision about {name!r} in a form this command does not edit: "
                         f"edit the file by hand")
    return Decision(result, notes)


# ---------------------------------------------------------------------------------------------------------------
# Line edits of the rules file


def _key(value: str) -> str:
    return strip_accents_casefold(value)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _scalar(name: str) -> str:
    """A name as a YAML flow item: plain when YAML reads it back unchanged, else JSON-quoted (valid YAML)."""
    try:
        plain = _PLAIN.fullmatch(name) is not None and yaml.safe_load(name) == name
    except yaml.YAMLError:
        plain = False
    return name if plain else json.dumps(name, ensure_ascii=False)


def _section(lines: list[str], key: str) -> tuple[int, int] | None:
    """(index of the `key:` line, index after its block) of a top-level key; None when the file has none."""
    for start, line in enumerate(lines):
        if line.split("#", 1)[0].rstrip() == f"{key}:" or line.startswith(f"{key}: "):
            end = start + 1
            while end < len(lines) and not _TOP_KEY.match(lines[end]):
                end += 1
            return start, end
    return None


def _load_line(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _entries_of(lines: list[str], start: int, end: int, canonical: str) -> Iterator[tuple[int, object, object]]:
    """(line index, head, variants) of each one-line `canonical: ...` entry of the `aliases:` section that spans
    lines `start` (its header) to `end` (exclusive); variants is a flow list, or None for a block list below."""
    for i in range(start + 1, end):
        entry = _load_line(lines[i].strip())
        if isinstance(entry, dict) and len(entry) == 1:
            ((head, variants),) = entry.items()
            if _key(str(head)) == _key(canonical):
                yield i, head, variants


def _without_alias(lines: list[str], canonical: str, key: str) -> list[str]:
    """The lines with the variant `key` taken out of the alias entry of `canonical` (a flow list on the entry's
    line, or a block list under it); an entry left without variants is removed."""
    where = _section(lines, "aliases")
    if where is None:
        return lines
    start, end = where
    out: list[str | None] = list(lines)
    for i, head, variants in _entries_of(lines, start, end, canonical):
        line = lines[i]
        if isinstance(variants, list):
            kept = [str(v) for v in variants if _key(str(v)) != key]
            indent = line[:len(line) - len(line.lstrip())]
            comment = line.rsplit("]", 1)[1].strip() if "]" in line else ""
            tail = f"  {comment}" if comment.startswith("#") else ""
            out[i] = (f"{indent}{_scalar(str(head))}: [{', '.join(map(_scalar, kept))}]{tail}" if kept else None)
        elif variants is None:  # block list under the entry
            j = i + 1
            items = []
            while j < end and lines[j].lstrip().startswith("- "):
                items.append(j)
                j += 1
            removed = [j for j in items if _key(str((_load_line(lines[j].strip()) or [""])[0])) == key]
            for j in removed:
                out[j] = None
            if removed and len(removed) == len(items):
                out[i] = None
    return [line for line in out if line is not None]


def _without_distinct(lines: list[str], key: str) -> list[str]:
    """The lines with every entry `key` taken out of the `distinct` list (block or flow)."""
    where = _section(lines, "distinct")
    if where is None:
        return lines
    start, end = where
    out: list[str | None] = list(lines)
    flow = _load_line(lines[start])
    if isinstance(flow, dict) and isinstance(flow.get("distinct"), list):
        kept = [str(v) for v in flow["distinct"] if _key(str(v)) != key]
        out[start] = f"distinct: [{', '.join(map(_scalar, kept))}]"
    for i in range(start + 1, end):
        item = _load_line(lines[i].strip()) if lines[i].lstrip().startswith("- ") else None
        if isinstance(item, list) and item and _key(str(item[0])) == key:
            out[i] = None
    return [line for line in out if line is not None]


def _with_alias(lines: list[str], canonical: str, variant: str) -> list[str]:
    """The lines with `variant` appended to the alias entry of `canonical` (its flow list, or its block list),
    or a new entry `canonical: [variant]` at the top of `aliases:` (created at the end when the file has none)."""
    where = _section(lines, "aliases")
    out = list(lines)
    if where is None:
        return [*out, *([""] if out else []), "aliases:", f"  {_scalar(canonical)}: [{_scalar(variant)}]"]
    start, end = where
    if _load_line(out[start]) not in ({"aliases": None}, {"aliases": {}}):
        raise ValueError("'aliases:' is written as one flow mapping: edit the file by hand")
    comment = out[start].partition("#")[2]
    out[start] = f"aliases:  #{comment}" if comment else "aliases:"  # `aliases: {}` opens a block now
    for i, _head, variants in _entries_of(out, start, end, canonical):
        if isinstance(variants, list):
            line, _, rest = out[i].rpartition("]")
            out[i] = f"{line}{', ' if variants else ''}{_scalar(variant)}]{rest}"
            return out
        if variants is None:  # a block list: after its last item, at its indentation
            j = i + 1
            while j < end and out[j].lstrip().startswith("- "):
                j += 1
            indent = out[j - 1][:len(out[j - 1]) - len(out[j - 1].lstrip())] if j > i + 1 else "    "
            return [*out[:j], f"{indent}- {_scalar(variant)}", *out[j:]]
    return [*out[:start + 1], f"  {_scalar(canonical)}: [{_scalar(variant)}]", *out[start + 1:]]


def _distinct_names(lines: list[str]) -> set[str]:
    """The keys of the names the `distinct` list of these lines holds, as written (not read through aliases)."""
    try:
        tree = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError:
        return set()
    return {_key(str(v)) for v in (tree.get("distinct") or [] if isinstance(tree, dict) else [])}


def _with_distinct(lines: list[str], name: str) -> list[str]:
    """The lines with `name` at the top of the `distinct` list (created at the end when the file has none)."""
    where = _section(lines, "distinct")
    if where is None:
        return [*lines, "", "# Names the entity registry never joins to another name (newsetl entities split).",
                "distinct:", f"  - {_scalar(name)}"]
    start, _end = where
    flow = _load_line(lines[start])
    if isinstance(flow, dict) and isinstance(flow.get("distinct"), list):
        items = [*map(str, flow["distinct"]), name]
        return [*lines[:start], f"distinct: [{', '.join(map(_scalar, items))}]", *lines[start + 1:]]
    return [*lines[:start + 1], f"  - {_scalar(name)}", *lines[start + 1:]]


def _write(path: Path, lines: list[str]) -> EntityConfig:
    """Write the lines and load them; a file that would not load is not written (ValueError)."""
    old = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        return load_entity_config(path)
    except (ValueError, yaml.YAMLError) as exc:
        _put_back(path, old)
        raise ValueError(f"the decision would leave {path} invalid ({exc})") from None


def _put_back(path: Path, old: str | None) -> None:
    """The file as it was before the decision (None: there was none)."""
    if old is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(old, encoding="utf-8")
