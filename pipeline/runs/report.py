"""The run report: counts, rejections and warnings of one run, written as report.json and to the runs index.

A run cut into Airflow tasks writes one partial report per task; `merge` adds them up into the run's report, so
both ways of running count the same things in the same place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pipeline.core.records import Rejection

# Counters that add up when partial reports of one run are merged.
COUNTERS = ("files", "seen", "cleaned", "undated", "enriched", "indexed", "unchanged", "duplicates", "skipped",
            "not_modified", "requests", "quarantined", "released", "retried", "pruned", "registry_changes",
            "recanonicalised")


@dataclass
class RunReport:
    """Counts and rejections of one run; written as report.json and printed as the run summary."""

    started_at: str
    partition: str | None = None
    finished_at: str | None = None
    files: int = 0  # units read (files, pages, WARC files)
    seen: int = 0  # items read from them (articles, lines, records)
    cleaned: int = 0
    undated: int = 0
    enriched: int = 0
    indexed: int = 0
    unchanged: int = 0
    duplicates: int = 0  # articles whose id an earlier article of the same run already had
    skipped: int = 0  # units (files, pages) known to the ledger and unchanged: not read, not fetched
    not_modified: int = 0  # conditional GETs answered 304
    requests: int = 0  # HTTP requests sent (robots.txt and retries included)
    quarantined: int = 0
    released: int = 0  # quarantine entries cleared because their unit now went through
    retried: int = 0  # re-enrichment: documents another run rewrote meanwhile, read again (never overwritten)
    pruned: int = 0  # documents removed because the file they came from is gone from its source (--prune)
    registry_changes: int = 0  # names whose entity value the run's learning changed (queued for re-canonicalisation)
    recanonicalised: int = 0  # indexed articles whose entity facets were rewritten after a registry change
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # per source: status, error, counts
    rejections: list[dict[str, Any]] = field(default_factory=list)
    # Articles indexed after a repair or a cut (charset, truncation, invalid date): {ref, stage, message}.
    warnings: list[dict[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Number of articles (or files/lines) that were rejected at any stage."""
        return len(self.rejections)

    def reject(self, rejection: Rejection, **context: Any) -> None:
        """Record one rejection, with where it came from (source, unit, doc_id) when known."""
        self.rejections.append({**rejection.to_dict(), **context})

    @property
    def failed_sources(self) -> list[str]:
        """Names of the sources that could not be read at all in this run."""
        return [name for name, info in self.sources.items() if info.get("status") == "failed"]

    def warn(self, ref: str, stage: str, message: str) -> None:
        """Record a problem that was repaired; the article itself went on."""
        self.warnings.append({"ref": ref, "stage": stage, "message": message})

    def merge(self, part: RunReport) -> None:
        """Add a partial report of the same run (one Airflow task's share) into this one; seconds add up per stage."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self.rejections += part.rejections
        self.warnings += part.warnings
        for name, info in part.sources.items():
            self.sources.setdefault(name, {}).update(info)
        for stage, seconds in part.seconds.items():
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + seconds, 3)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the derived rejected count."""
        return {**asdict(self), "rejected": self.rejected, "warned": len(self.warnings),
                "sources_failed": len(self.failed_sources)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        """Inverse of to_dict (derived counts are recomputed)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
