"""Files that appear under their final name only when complete: a crash leaves the old file
(or none), never half of a new one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class AtomicFile:
    """A file written under a hidden temporary name and renamed into place on success."""

    path: Path

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".partial")
        self.temporary = Path(temporary)
        self.file = os.fdopen(handle, "wb")
        return self.file

    def __exit__(self, kind, value, traceback):
        try:
            if kind is None:
                self.file.flush()
                os.fsync(self.file.fileno())
                os.fchmod(self.file.fileno(), 0o644)  # mkstemp makes it 0600
            self.file.close()
            if kind is None:
                os.replace(self.temporary, self.path)
        finally:
            self.temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """For writers that want a path, not a file (keras' model.save): a hidden name beside
    path, with the same suffix, renamed to path when the block ends without an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_json(path: Path, document, indent: int | None = 2) -> None:
    """UTF-8 JSON (characters as they are, not \\u escapes), atomically."""
    with AtomicFile(Path(path)) as file:
        file.write((json.dumps(document, indent=indent, ensure_ascii=False) + "\n").encode("utf-8"))
