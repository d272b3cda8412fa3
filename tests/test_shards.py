import hashlib
import io
import os
import signal
import subprocess
import tarfile
import time

import pytest
from conftest import OCRPIPE, ROOT, ocrpipe
from PIL import Image

from core.labels import parse_member_name
from core.shards import INDEX, META, Shard, ShardError, verify, write_shard


def test_same_params_and_seed_give_a_byte_identical_shard(tmp_path, small_shard):
    again = tmp_path / "again.tar"
    ocrpipe("render", "--out", again, "--count", 60, "--seed", 11)
    assert again.read_bytes() == small_shard.read_bytes()
    other = tmp_path / "other.tar"
    ocrpipe("render", "--out", other, "--count", 60, "--seed", 12)
    assert other.read_bytes() != small_shard.read_bytes()


def test_shard_layout_index_and_random_access(small_shard):
    shard = Shard(small_shard)
    assert shard.meta["count"] == len(shard) == 60 and shard.meta["seed"] == 11
    with tarfile.open(small_shard) as tar:
        names = tar.getnames()
    assert names[-2:] == [INDEX, META]
    for i, row in enumerate(shard.index):
        assert names[i] == row["member"]
        assert parse_member_name(row["member"]) == (i, row["label"], True)
        data = shard.read_bytes(i)
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        image = Image.open(io.BytesIO(data))
        assert image.size == (row["width"], row["height"]) and image.height == 32 and image.mode == "RGB"
        assert set(row["style"]) >= {"background", "skew", "blur", "distortion", "inverted", "spacing", "colour"}
    assert verify(small_shard) == []


def _rewrite(source, target, change):
    """Copy a shard member by member, letting change(name, data) alter or drop (None) each one."""
    with tarfile.open(source) as old, tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as new:
        for member in old.getmembers():
            data = change(member.name, old.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                new.addfile(member, io.BytesIO(data))


def test_verify_names_the_member_with_a_flipped_byte(tmp_path, small_shard):
    row = Shard(small_shard).index[7]
    damaged = tmp_path / "flipped.tar"
    data = bytearray(small_shard.read_bytes())
    data[row["offset"] + row["size"] // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    problems = verify(damaged)
    assert problems == [f"{damaged}: member {row['member']} is corrupt (checksum mismatch)"]
    result = ocrpipe("shards", "verify", small_shard, damaged, check=False)
    assert result.returncode == 1
    assert row["member"] in result.stderr and str(damaged) in result.stderr and f"{small_shard}: ok" in result.stdout


def test_verify_names_a_missing_member(tmp_path, small_shard):
    gone = Shard(small_shard).index[3]["member"]
    damaged = tmp_path / "missing.tar"
    _rewrite(small_shard, damaged, lambda name, data: None if name == gone else data)
    problems = verify(damaged)
    assert any(gone in p and "missing" in p for p in problems), problems


def test_verify_names_a_member_whose_header_is_damaged(tmp_path, small_shard):
    shard = Shard(small_shard)
    victim = shard.members[shard.index[5]["member"]]
    data = bytearray(small_shard.read_bytes())
    data[victim.offset + 150] ^= 0xFF  # inside the header's checksum field
    damaged = tmp_path / "header.tar"
    damaged.write_bytes(bytes(data))
    problems = verify(damaged)
    assert any(shard.index[5]["member"] in p for p in problems), problems


def test_verify_reports_a_truncated_shard(tmp_path, small_shard):
    damaged = tmp_path / "truncated.tar"
    damaged.write_bytes(small_shard.read_bytes()[: small_shard.stat().st_size // 2])
    [problem] = verify(damaged)
    assert str(damaged) in problem and "missing" in problem
    with pytest.raises(ShardError):
        Shard(damaged)


def test_a_failing_writer_leaves_nothing_behind(tmp_path, renderer):
    def samples():
        yield renderer.sample(1, 0)
        raise RuntimeError("boom")

    target = tmp_path / "out.tar"
    with pytest.raises(RuntimeError):
        write_shard(target, samples())
    assert list(tmp_path.iterdir()) == []


def test_killing_the_renderer_at_any_moment_leaves_no_file_under_the_final_name(tmp_path):
    target = tmp_path / "killed.tar"
    command = [*OCRPIPE, "render", "--out", str(target), "--count", "1500", "--seed", "1"]
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    duration = time.monotonic() - started
    target.unlink()
    # Kill at moments spread over start-up, rendering and the final write and rename.
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.85, 0.93, 0.97, 0.99):
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if target.exists():  # the run finished before the kill: it must then be complete
            assert verify(target) == [], f"killed at {fraction:.0%}: a damaged shard under the final name"
            target.unlink()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "charset.json"]
    assert all(name.startswith(".killed.tar.") and name.endswith(".partial") for name in leftovers), leftovers


def test_extract_writes_images_and_exact_labels(tmp_path, small_shard):
    out = tmp_path / "extracted"
    ocrpipe("shards", "extract", small_shard, out)
    shard = Shard(small_shard)
    lines = (out / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(shard)
    for line, row in zip(lines, shard.index):
        name, label = line.split("\t")
        assert (name, label) == (row["member"], row["label"])
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == row["sha256"]


def test_preview_draws_a_contact_sheet(tmp_path, small_shard):
    sheet = tmp_path / "sheet.png"
    ocrpipe("shards", "preview", small_shard, "--out", sheet, "--count", 8)
    image = Image.open(sheet)
    assert image.width >= 600 and image.height > 8 * 64
    # Not blank: the samples and labels put dark pixels on the white sheet.
    assert image.convert("L").getextrema()[0] < 100


def test_reading_a_file_that_is_no_shard_names_it(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(4096))
    result = ocrpipe("shards", "verify", junk, check=False)
    assert result.returncode == 1 and str(junk) in result.stderr
    result = ocrpipe("shards", "extract", junk, tmp_path / "x", check=False)
    assert result.returncode == 2 and str(junk) in result.stderr and "Traceback" not in result.stderr
