"""Which landing files belong to a run: files are partitioned by the day in their path (or their mtime)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.collect.files import iter_files

# 2019-06-25 anywhere in the path, or 20190625 / 20190625093000 in a name (CC-NEWS-20190625093000-00001.warc.gz).
_PATH_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:\d{6})?(?!\d)")


def partition_window(logical_date: datetime, interval_start: datetime | None,
                     interval_end: datetime | None) -> tuple[date, date]:
    """Days [start, end) a run covers: its data interval, aligned to begin at the logical date.

    Scheduled runs already have logical_date == data_interval_start. A manual run (`airflow dags test
    news_nightly 2019-06-25`) gets the interval that *ends* at the logical date from Airflow; shifting it keeps
    "the date you typed is the day processed" for every kind of run.
    """
    # total_seconds(): Airflow hands in pendulum objects, whose Duration does not divide by a timedelta.
    seconds = (interval_end - interval_start).total_seconds() if interval_start and interval_end else 0
    days = max(1, round(seconds / 86400))
    start = logical_date.astimezone(UTC).date()
    return start, start + timedelta(days=days)


def file_partition(path: Path, root: Path) -> date:
    """The day a landing file belongs to: the last date (YYYY-MM-DD, YYYYMMDD[hhmmss]) in its path below root,
    else its mtime (UTC)."""
    relative = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    for part in reversed(relative.parts):
        for match in reversed(list(_PATH_DATE.finditer(part))):
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                continue
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date()


def files_in_window(root: Path, start: date, end: date) -> Iterator[Path]:
    """Landing files whose partition day falls in [start, end); unsupported ones are reported downstream."""
    if not root.is_dir():
        raise FileNotFoundError(f"landing folder {root} does not exist")
    for path in iter_files([root]):
        if start <= file_partition(path, root) < end:
            yield path
