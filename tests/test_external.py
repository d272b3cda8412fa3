"""The outside check set in data/external (made by bench/external.py): loadable, labelled,
inside the charset, every slice filled, and drawn with no training font."""

import json
import runpy
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml
from PIL import Image

from core.charset import build_charset
from core.labels import parse_member_name
from core.params import Charset
from training.data import load_lines
from training.metrics import slice_of

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT / "data" / "external"
DEBIAN_PYTHON = Path("/usr/bin/python3")


@pytest.fixture(scope="module")
def lines():
    return load_lines(EXTERNAL / "labels.tsv")


@pytest.fixture(scope="module")
def styles():
    text = (EXTERNAL / "styles.jsonl").read_text(encoding="utf-8")
    return [json.loads(row) for row in text.splitlines() if row.strip()]


def test_labels_tsv_loads_every_image(lines):
    images = sorted((EXTERNAL / "images").glob("*.png"))
    assert len(lines) == len(images) >= 480
    assert {line.path for line in lines} == {path.resolve() for path in images}
    # the folder of images loads too, with the same labels
    assert sorted(line.label for line in load_lines(EXTERNAL / "images")) == sorted(line.label for line in lines)


def test_names_decode_to_labels(lines):
    for line in lines:
        _, label, complete = parse_member_name(line.path.name)
        assert complete and label == line.label, line.path.name


def test_labels_are_clean_and_inside_the_charset(lines):
    charset = set(build_charset(Charset()))
    for line in lines:
        label = line.label
        assert 1 <= len(label) <= 40, label
        assert label == label.strip(" ") and "  " not in label, repr(label)
        assert set(label) <= charset, (label, sorted(set(label) - charset))
    assert len({line.label for line in lines}) == len(lines)


def test_every_slice_is_filled(lines, styles):
    counts = Counter(slice_of(line.label) for line in lines)
    assert set(counts) == {"digits", "en", "zh", "mixed"}
    assert min(counts.values()) >= 80, counts
    for record in styles:
        assert record["slice"] == slice_of(record["label"]), record["label"]


def test_images_open(lines):
    for line in lines:
        with Image.open(line.path) as image:
            assert image.format == "PNG" and image.width >= 4 and image.height >= 8, line.path.name


def test_styles_match_the_labels(lines, styles):
    assert [(EXTERNAL / record["path"]).resolve() for record in styles] == [line.path for line in lines]
    assert [record["label"] for record in styles] == [line.label for line in lines]
    for record in styles:
        assert 12 <= record["size_px"] <= 64
        assert abs(record["rotation_deg"]) <= 3


def test_no_training_font(styles):
    manifest = yaml.safe_load((ROOT / "fonts" / "manifest.yaml").read_text(encoding="utf-8"))["fonts"]
    training_files = {Path(spec["path"].removeprefix("trdg:")).name.lower() for spec in manifest}
    training_families = {spec["family"].lower() for spec in manifest}
    training_faces = {(spec["family"].lower(), spec["style"].lower()) for spec in manifest}
    fonts = [record["font"] for record in styles] + [record["latin_font"] for record in styles if record["latin_font"]]
    assert fonts
    for font in fonts:
        assert Path(font["file"]).name.lower() not in training_files, font
        assert font["family"].lower() not in training_families, font
        assert (font["typographic_family"].lower(), font["style"].lower()) not in training_faces, font
        assert not font["file"].startswith(str(ROOT)), font  # a system font, not one of fonts/


def _debian_pango() -> bool:
    if not DEBIAN_PYTHON.exists():
        return False
    probe = "import gi; gi.require_version('PangoCairo', '1.0'); from gi.repository import PangoCairo; import cairo"
    return subprocess.run([str(DEBIAN_PYTHON), "-c", probe], check=False, capture_output=True).returncode == 0


@pytest.mark.skipif(not _debian_pango(), reason="Debian's python3 with PyGObject/Pango is not installed")
def test_generator_reproduces_the_labels(tmp_path):
    """The committed labels are what bench/external.py makes (images may differ with font package versions)."""
    subprocess.run([str(DEBIAN_PYTHON), str(ROOT / "bench" / "external.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    made = (tmp_path / "labels.tsv").read_text(encoding="utf-8")
    assert made == (EXTERNAL / "labels.tsv").read_text(encoding="utf-8")


def test_bench_read_groups_the_lines_by_how_they_were_drawn(lines):
    """bench/read.py --by-style: every line is matched to its styles.jsonl entry and counted in
    its effect, its slice's upright or italic row, and its face; a perfect reader reads 1.000
    in every row, one that reads nothing 0.000, and data without styles.jsonl is refused."""
    from training.data import DataError

    # bench/ holds scripts, not an installed package: load the script itself (it puts the
    # repository on sys.path for its own `bench.peers` import)
    bench_read = runpy.run_path(str(ROOT / "bench" / "read.py"), run_name="bench_read")
    line_styles, style_table = bench_read["line_styles"], bench_read["style_table"]

    styles = line_styles(EXTERNAL / "labels.tsv", lines)
    assert [style["label"] for style in styles] == [line.label for line in lines]
    truths = [line.label for line in lines]
    rows = style_table({"perfect": {"texts": truths}, "blank": {"texts": [""] * len(truths)}}, styles, truths)
    body = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows.splitlines()[2:]]
    effects = {row[0]: int(row[1]) for row in body if row[0].startswith("effect ")}
    assert sum(effects.values()) == len(lines) and {"effect none", "effect outline", "effect shadow"} <= set(effects)
    slanted = {row[0]: int(row[1]) for row in body if row[0].endswith((", italic", ", upright"))}
    assert sum(slanted.values()) == len(lines) and "en, italic" in slanted
    assert all(row[2] == "1.000" and row[3] == "0.000" for row in body)
    with pytest.raises(DataError, match="no styles.jsonl"):
        line_styles(EXTERNAL / "images", lines)
