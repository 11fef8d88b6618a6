"""Which sources feed the index: config/sources.yml, or a target named on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.collect.files import WARC_SUFFIXES
from pipeline.core.dateorder import DateOrder, parse_date_order
from pipeline.core.settings import Settings, read_yaml

# folder: landing files (.txt/.html/.jsonl/.warc), partitioned by the day in their path;
# warc: a .warc/.warc.gz file or a folder of them; feed: RSS/Atom; sitemap: (news) sitemap or sitemap index;
# urls: a file with one page URL per line; url: one URL whose content decides (feed, sitemap or a page).
SourceKind = Literal["folder", "warc", "feed", "sitemap", "urls", "url"]
HISTORY_KINDS = ("folder", "warc")  # can answer "what arrived on day D?" long after D, so they can be backfilled

# Options each kind understands; anything else is a typo the user should hear about.
KNOWN_OPTIONS: dict[str, dict[str, type]] = {
    "folder": {},
    "warc": {},
    # allow_hosts: hosts this source may fetch although they resolve to private/loopback addresses (an intranet
    # feed); every other non-public address is refused (pipeline/collect/http.py).
    "feed": {"full_text": bool, "allow_hosts": list},  # full_text: the feed carries whole articles, pages not fetched
    "sitemap": {"max_depth": int, "since_days": int, "allow_hosts": list},
    "urls": {"allow_hosts": list},
    "url": {"full_text": bool, "max_depth": int, "since_days": int, "allow_hosts": list},
}


class SourceConfig(BaseModel):
    """One configured source: name, kind, location, language, date order, options, enabled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    kind: SourceKind
    location: str
    language: str | None = None  # articles' language when the page does not say (else detected)
    # How the source writes numeric dates ("7/8/07"): DMY, MDY or YMD; before any locale (pipeline.core.dateorder)
    date_order: DateOrder | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("date_order", mode="before")
    @classmethod
    def _upper_date_order(cls, value: object) -> DateOrder | None:
        return parse_date_order(value)

    @model_validator(mode="after")
    def _check_options(self) -> SourceConfig:
        known = KNOWN_OPTIONS[self.kind]
        for key, value in self.options.items():
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise ValueError(f"source {self.name!r}: unknown option {key!r} for kind {self.kind!r} "
                                 f"(allowed: {allowed})")
            if not isinstance(value, known[key]):
                raise ValueError(f"source {self.name!r}: option {key!r} must be {known[key].__name__}")
        remote = self.location.startswith(("http://", "https://"))
        if self.kind in ("feed", "sitemap", "url") and not remote:
            raise ValueError(f"source {self.name!r}: a {self.kind} location must be an http(s) URL")
        if self.kind in ("folder", "warc") and remote:
            raise ValueError(f"source {self.name!r}: a {self.kind} location must be a local path")
        return self

    @property
    def has_history(self) -> bool:
        """True when a past day can be re-read later (dated files), so backfills include this source."""
        return self.kind in HISTORY_KINDS

    def option(self, key: str, default: Any = None) -> Any:
        """One option's value, or the default."""
        return self.options.get(key, default)


def load_sources(settings: Settings, *, include_disabled: bool = False) -> list[SourceConfig]:
    """The sources of config/sources.yml; without that file, one folder source: the landing folder."""
    path = settings.sources_config
    if not path.exists():
        return [SourceConfig(name=settings.source_name, kind="folder", location=str(settings.landing_dir),
                             language=None)]
    tree = read_yaml(path) or {}
    entries = tree.get("sources") if isinstance(tree, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a top-level 'sources:' list")
    base = path.resolve().parent.parent
    sources: list[SourceConfig] = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: source #{number} must be a mapping")
        entry = dict(entry)
        # A folder source without a location is the landing folder of settings.yml (NEWSETL_LANDING_DIR).
        if entry.get("kind") == "folder" and not entry.get("location"):
            entry["location"] = str(settings.landing_dir)
        try:
            source = SourceConfig.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'source'}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"{path}: source #{number} ({entry.get('name', '?')}): {problems}") from None
        if not source.location.startswith(("http://", "https://")):
            source = source.model_copy(update={"location": str((base / Path(source.location).expanduser()).resolve())})
        sources.append(source)
    names = [s.name for s in sources]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"{path}: source names must be unique: {', '.join(duplicates)}")
    return [s for s in sources if s.enabled or include_disabled]


def select_sources(settings: Settings, names: list[str] | None) -> list[SourceConfig]:
    """The enabled sources, or the named ones (disabled ones included when named explicitly)."""
    every = load_sources(settings, include_disabled=True)
    if not names:
        return [s for s in every if s.enabled]
    by_name = {s.name: s for s in every}
    if missing := [n for n in names if n not in by_name]:
        raise ValueError(f"no source named {', '.join(missing)} in {settings.sources_config} "
                         f"(known: {', '.join(by_name) or 'none'})")
    return [by_name[n] for n in names]


URL_LIST_SUFFIXES = (".urls", ".urls.txt")


def source_for_target(target: str, *, name: str, language: str | None = None) -> SourceConfig:
    """A source for something named on the command line: a URL, a URL-list file, a WARC file, a file or folder."""
    if target.startswith(("http://", "https://")):
        return SourceConfig(name=name, kind="url", location=target, language=language)
    path = Path(target).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {target}")
    lower = path.name.lower()
    if path.is_file() and lower.endswith(WARC_SUFFIXES):
        kind = "warc"
    elif path.is_file() and (lower.endswith(URL_LIST_SUFFIXES) or is_url_list(path)):
        kind = "urls"
    else:
        kind = "folder"
    return SourceConfig(name=name, kind=kind, location=str(path.resolve()), language=language)


def is_url_list(path: Path) -> bool:
    """True for a small .txt file whose every non-blank, non-# line is an http(s) URL."""
    if not path.name.lower().endswith(".txt") or path.stat().st_size > 5_000_000:
        return False
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (UnicodeDecodeError, OSError):
        return False
    entries = [line for line in lines if line and not line.startswith("#")]
    return bool(entries) and all(line.startswith(("http://", "https://")) and " " not in line for line in entries)
