"""Shards: one uncompressed tar of `{id}_{label}.{ext}` images, then an index and a meta member.

Layout, in member order:
    00000000_<label>.png ...   the images (names: core/labels.py)
    index.jsonl                one JSON object per image: id, member, label (exact),
                               source, font, style, sha256, offset and size of the
                               image bytes in the tar (random access), width, height
    meta.json                  count, seed, fingerprint of the params, charset digest,
                               sha256 of index.jsonl

The index is the source of truth for labels. Members carry fixed metadata (mtime
0, root, 0644), so the same samples give a byte-identical tar. A shard is written
under a hidden temporary name beside its final one and renamed when complete and
flushed: a killed writer never leaves a file under the final name.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core.errors import InputError
from core.files import AtomicFile
from core.labels import member_name, parse_member_name

FORMAT_VERSION = 1
INDEX = "index.jsonl"
META = "meta.json"
# Fast deflate without row filters: noisy backgrounds leave filters nothing to win, and
# they cost a third of the encoding time.
_ENCODE_OPTIONS = {
    "png": [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE],
    "jpg": [cv2.IMWRITE_JPEG_QUALITY, 95],
}


class ShardError(InputError):
    """A shard that is unreadable or inconsistent; the message names the shard and member."""


@dataclass(frozen=True)
class Sample:
    """One rendered line, as a shard stores it."""

    label: str
    source: str  # which corpus source made the label (digits, en, zh, mixed, custom)
    font: str
    style: dict
    image: np.ndarray  # RGB, (height, width, 3) uint8


def encode_image(image: np.ndarray, image_format: str) -> bytes:
    ok, data = cv2.imencode(f".{image_format}", image[:, :, ::-1], _ENCODE_OPTIONS[image_format])  # RGB -> BGR
    if not ok:
        raise ShardError(f"OpenCV could not encode a {image.shape} image as {image_format}")
    return data.tobytes()


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_shard(
    path: Path,
    samples: Iterable[Sample],
    *,
    first_id: int = 0,
    id_width: int = 8,
    image_format: str = "png",
    meta: dict | None = None,
) -> dict:
    """Stream samples into a shard at path (atomically); returns its meta."""
    index = []
    with AtomicFile(Path(path)) as file, tarfile.open(fileobj=file, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for sample_id, sample in enumerate(samples, first_id):
            data = encode_image(sample.image, image_format)
            name = member_name(sample_id, sample.label, image_format, id_width)
            tar.addfile(_tarinfo(name, len(data)), io.BytesIO(data))
            index.append(
                {
                    "id": sample_id,
                    "member": name,
                    "label": sample.label,
                    "source": sample.source,
                    "font": sample.font,
                    "style": sample.style,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "offset": tar.offset - -(-len(data) // 512) * 512,  # data starts after the header
                    "size": len(data),
                    "width": int(sample.image.shape[1]),
                    "height": int(sample.image.shape[0]),
                }
            )
        index_bytes = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in index).encode("utf-8")
        tar.addfile(_tarinfo(INDEX, len(index_bytes)), io.BytesIO(index_bytes))
        meta = {
            **(meta or {}),
            "format": FORMAT_VERSION,
            "count": len(index),
            "first_id": first_id,
            "image_format": image_format,
            "index_sha256": hashlib.sha256(index_bytes).hexdigest(),
        }
        meta_bytes = json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        tar.addfile(_tarinfo(META, len(meta_bytes)), io.BytesIO(meta_bytes))
    return meta


class Shard:
    """Random access to a shard's images through its index (no extraction)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            # ignore_zeros: a damaged header costs one member instead of hiding all that follow.
            with tarfile.open(self.path, mode="r:", ignore_zeros=True) as tar:
                self.members = {}
                while True:
                    try:
                        member = tar.next()
                    except tarfile.ReadError:  # truncated: keep what was readable
                        break
                    if member is None:
                        break
                    self.members[member.name] = member
                meta_bytes, self.index_bytes = self._read_member(tar, META), self._read_member(tar, INDEX)
        except (OSError, tarfile.TarError, EOFError) as error:
            raise ShardError(f"{self.path}: not a readable tar: {error}") from None
        try:
            self.meta = json.loads(meta_bytes)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ShardError(f"{self.path}: member {META} is not valid JSON: {error}") from None
        if not isinstance(self.meta, dict) or self.meta.get("format") != FORMAT_VERSION:
            raise ShardError(f"{self.path}: {META} is not a format {FORMAT_VERSION} shard meta")
        if hashlib.sha256(self.index_bytes).hexdigest() != self.meta.get("index_sha256"):
            raise ShardError(f"{self.path}: member {INDEX} does not match the checksum in {META}")
        self.index = [json.loads(line) for line in self.index_bytes.decode("utf-8").splitlines()]

    def _read_member(self, tar: tarfile.TarFile, name: str) -> bytes:
        if name not in self.members:
            raise ShardError(
                f"{self.path}: member {name} is missing ({len(self.members)} members readable: truncated or damaged?)"
            )
        return tar.extractfile(self.members[name]).read()

    def __len__(self) -> int:
        return len(self.index)

    def read_bytes(self, i: int) -> bytes:
        row = self.index[i]
        with open(self.path, "rb") as file:
            file.seek(row["offset"])
            return file.read(row["size"])

    def image(self, i: int) -> Image.Image:
        return Image.open(io.BytesIO(self.read_bytes(i)))

    def __iter__(self) -> Iterator[tuple[dict, bytes]]:
        with open(self.path, "rb") as file:
            for row in self.index:
                file.seek(row["offset"])
                yield row, file.read(row["size"])


def verify(path: Path | str) -> list[str]:
    """Every problem found in the shard, each naming the shard and the member; [] if sound."""
    try:
        shard = Shard(path)
    except ShardError as error:
        return [str(error)]
    problems = []
    if shard.meta.get("count") != len(shard.index):
        problems.append(f"{path}: {META} says {shard.meta.get('count')} images, {INDEX} lists {len(shard.index)}")
    listed = set()
    with open(shard.path, "rb") as file:
        for row in shard.index:
            name = row.get("member", "?")
            listed.add(name)
            member = shard.members.get(name)
            if member is None:
                problems.append(f"{path}: member {name} is missing (listed in {INDEX})")
                continue
            if member.offset_data != row["offset"] or member.size != row["size"]:
                problems.append(f"{path}: member {name} is not where {INDEX} says it is")
                continue
            file.seek(row["offset"])
            data = file.read(row["size"])
            if hashlib.sha256(data).hexdigest() != row["sha256"]:
                problems.append(f"{path}: member {name} is corrupt (checksum mismatch)")
                continue
            try:
                sample_id, label, complete = parse_member_name(name)
            except ValueError as error:
                problems.append(f"{path}: member {name}: {error}")
                continue
            if sample_id != row["id"] or (label != row["label"] if complete else not row["label"].startswith(label)):
                problems.append(f"{path}: member {name} does not match its index label {row['label']!r}")
    for name in sorted(set(shard.members) - listed - {INDEX, META}):
        problems.append(f"{path}: member {name} is not in {INDEX}")
    return problems


def extract(path: Path | str, directory: Path | str) -> int:
    """Write the images as files, and labels.tsv (`path<TAB>label`, the exact labels)."""
    shard, directory = Shard(path), Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for row, data in shard:
        name = row["member"]
        if "/" in name or name in (".", "..") or name.startswith("."):
            raise ShardError(f"{path}: member {name!r} is not a plain file name")
        if any(c in row["label"] for c in "\t\r\n"):
            raise ShardError(f"{path}: member {name}: label has a tab or line break, which labels.tsv cannot hold")
        (directory / name).write_bytes(data)
        lines.append(f"{name}\t{row['label']}\n")
    (directory / "labels.tsv").write_text("".join(lines), encoding="utf-8")
    return len(lines)
