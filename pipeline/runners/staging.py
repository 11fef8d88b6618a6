"""Staging: the files Airflow tasks hand each other, in a local folder or under an object-store prefix.

One setting decides where (`staging.url`: empty = `<data_dir>/runs`, or `s3://bucket/prefix`, `gs://...`), so a
run can spread over workers that share no disk (CeleryExecutor, KubernetesExecutor). The root is any path object
of the pathlib/fsspec family: a `pathlib.Path`, a `upath.UPath`, or Airflow's `ObjectStoragePath` (which the DAG
builds from an Airflow connection, so credentials never pass through settings). XCom carries only names relative
to the partition.

Writes are atomic either way: locally a temporary file, fsync and rename; on an object store the object appears
only when its upload completes. A task killed half-way never leaves a file that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePath
from typing import Any, TypeVar

import msgspec
from upath import UPath

from pipeline.core.errors import InfrastructureError
from pipeline.core.settings import Settings

LOCAL_PROTOCOLS = ("", "file", "local")
# msgspec encodes the records' dataclasses directly and decodes lines straight into them: 4-5x faster than
# dataclasses.asdict + json (measured on 1,000 BBC articles), and the files stay plain JSON lines.
_ENCODER = msgspec.json.Encoder()
T = TypeVar("T")


class Staging:
    """The staged files under one root: JSON documents and JSON-lines files by relative name.

    Raises InfrastructureError when the storage fails (full disk, permissions, an unreachable object store), so
    the task fails and is retried.
    """

    def __init__(self, root: Any) -> None:
        self.root = _local(root) if is_local(root) else root

    @classmethod
    def from_settings(cls, settings: Settings, **storage_options: Any) -> Staging:
        """The configured staging root without Airflow: a local folder, or a UPath with fsspec storage options
        (credentials from the environment as the filesystem reads them, e.g. AWS_* for s3)."""
        url = settings.staging.url
        if not url:
            return cls(settings.runs_dir)
        return cls(UPath(url, **storage_options))

    @property
    def local(self) -> bool:
        """True when the root is a folder on this machine."""
        return isinstance(self.root, Path)

    def __truediv__(self, name: str) -> Staging:
        return Staging(self.root / name)

    def __str__(self) -> str:
        return str(self.root)

    def path(self, name: str) -> Any:
        """The path object of a staged file."""
        return self.root / name

    def exists(self, name: str) -> bool:
        """True when the staged file exists."""
        with self._errors(name):
            return bool(self.path(name).exists())

    def remove(self, name: str) -> None:
        """Remove one staged file if it exists."""
        with self._errors(name, "write"):
            path = self.path(name)
            if path.exists():
                path.unlink()

    def clear(self) -> None:
        """Remove everything under the root (a re-run of a partition starts empty)."""
        with self._errors("", "write"):
            if self.local:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root.mkdir(parents=True, exist_ok=True)
            elif self.root.exists():
                self.root.fs.rm(self.root.path, recursive=True)

    def write_jsonl(self, name: str, records: Iterable[Any]) -> int:
        """Write records (dicts or the dataclasses of pipeline.core.records) as JSON lines, atomically; returns
        the count."""
        count = 0
        buffer = bytearray()
        with self._writer(name, binary=True) as handle:
            for record in records:
                _ENCODER.encode_into(record, buffer, -1)
                buffer.extend(b"\n")
                count += 1
                if len(buffer) >= 1 << 20:  # write in ~1 MiB pieces: one call per record is most of the cost
                    handle.write(buffer)
                    buffer.clear()
            handle.write(buffer)
        return count

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Write one JSON document atomically."""
        with self._writer(name) as handle:
            handle.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def read_json(self, name: str) -> dict[str, Any]:
        """One JSON document."""
        with self._errors(name):
            return json.loads(self.path(name).read_text(encoding="utf-8"))

    def read_jsonl(self, name: str, type: type[T] | None = None) -> Iterator[Any]:  # noqa: A002 - msgspec's name
        """Records of a JSON-lines file, streamed, as dicts or decoded straight into `type` (a dataclass of
        pipeline.core.records); nothing when the file does not exist. Raises InfrastructureError when the
        storage fails or a line is not what this code wrote (a staged file of another version, a torn write)."""
        path = self.path(name)
        decoder = msgspec.json.Decoder(type) if type is not None else msgspec.json.Decoder()
        with self._errors(name):
            if not path.exists():
                return
            with path.open("rb") as handle:
                for line in handle:
                    if line.strip():
                        try:
                            yield decoder.decode(line)
                        except msgspec.DecodeError as exc:
                            raise InfrastructureError(f"cannot read {path}: {exc}") from exc

    # -----------------------------------------------------------------------------------------------------------

    def _writer(self, name: str, *, binary: bool = False) -> _AtomicWriter:
        return _AtomicWriter(self, name, binary=binary)

    def _errors(self, name: str, verb: str = "read") -> _StorageErrors:
        return _StorageErrors(self.path(name) if name else self.root, verb)


class _AtomicWriter:
    """Context manager: a text (or binary) handle whose content replaces `name` only when the block ends without
    error."""

    def __init__(self, staging: Staging, name: str, *, binary: bool = False) -> None:
        self.staging = staging
        self.target = staging.path(name)
        self.errors = _StorageErrors(self.target, "write")
        self.mode, self.encoding = ("wb", None) if binary else ("w", "utf-8")

    def __enter__(self) -> Any:
        with self.errors:
            if self.staging.local:
                self.target.parent.mkdir(parents=True, exist_ok=True)
                self.tmp = self.target.with_name(self.target.name + ".tmp")
                self.handle = self.tmp.open(self.mode, encoding=self.encoding)
            else:  # an object appears only once its upload completes: no temporary name needed
                self.handle = self.target.open(self.mode, encoding=self.encoding)
        return self.handle

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        with self.errors:
            if exc_type is not None:
                self._abort()
                return
            if self.staging.local:
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self.handle.close()
                self.tmp.replace(self.target)
            else:
                self.handle.close()

    def _abort(self) -> None:
        try:
            if self.staging.local:
                self.handle.close()
                self.tmp.unlink(missing_ok=True)
            elif hasattr(self.handle, "discard"):  # fsspec buffered files: drop the unfinished upload
                self.handle.discard()
            else:
                self.handle.close()
        except OSError:
            pass


class _StorageErrors:
    """OSError (disk full, permissions, the object store unreachable) -> InfrastructureError naming the path."""

    def __init__(self, path: Any, verb: str = "read") -> None:
        self.path = path
        self.verb = verb

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is not None and isinstance(exc, OSError):
            raise InfrastructureError(f"cannot {self.verb} {self.path}: {exc.strerror or exc}") from exc


def is_local(root: Any) -> bool:
    """True for a pathlib path or an fsspec path on the local filesystem."""
    if isinstance(root, (str, PurePath)) and not hasattr(root, "protocol"):
        return True
    return getattr(root, "protocol", "") in LOCAL_PROTOCOLS


def _local(root: Any) -> Path:
    return Path(getattr(root, "path", root))
