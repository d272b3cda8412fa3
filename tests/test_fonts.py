import json

import numpy as np
import pytest
import yaml
from conftest import ROOT, ocrpipe, write_params
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from core.charset import build_charset
from core.fonts import FontError, load_manifest
from core.params import Charset
from synth.fonts import Font, load_fonts


def _box(pen, left, bottom, right, top):
    pen.moveTo((left, bottom))
    pen.lineTo((left, top))
    pen.lineTo((right, top))
    pen.lineTo((right, bottom))
    pen.closePath()


def build_test_font(path):
    """A font whose cmap maps A to an empty glyph and B to a copy of .notdef: only C really exists."""
    builder = FontBuilder(1000, isTTF=True)
    names = [".notdef", "empty", "tofu", "real", "space"]
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord("A"): "empty", ord("B"): "tofu", ord("C"): "real", ord(" "): "space"})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        if name in (".notdef", "tofu"):
            _box(pen, 100, 0, 600, 700)
            _box(pen, 150, 50, 550, 650)
        elif name == "real":
            _box(pen, 100, 0, 300, 700)
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (700, 100) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Tofu Test", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(str(path))


def manifest_with(tmp_path, *entries):
    (tmp_path / "LICENSE.txt").write_text("test", encoding="utf-8")
    fonts = [{"id": font_id, "path": str(path), "license": "LICENSE.txt"} for font_id, path in entries]
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"fonts": fonts}), encoding="utf-8")
    return manifest


def test_coverage_rejects_empty_and_notdef_shaped_glyphs_the_cmap_maps(tmp_path):
    build_test_font(tmp_path / "tofu.ttf")
    [spec] = load_manifest(manifest_with(tmp_path, ("tofu", tmp_path / "tofu.ttf")))
    font = Font(spec, 32)
    assert {ord(c) for c in "ABC "} <= font.cmap
    assert font.coverage("ABC ") == {"C", " "}
    assert font.draws("C C") and not font.draws("CA") and not font.draws("B")
    # Outlines are read lazily, during rendering: one that cannot be read still names the font.
    with pytest.raises(FontError, match=r"tofu.ttf: cannot read the outline of 'lost' \(font 'tofu'\)"):
        font._outline("lost")


def test_no_sample_is_drawn_with_a_font_lacking_one_of_its_glyphs(renderer):
    cmaps = {font.spec.id: TTFont(font.spec.path, fontNumber=font.spec.face).getBestCmap() for font in renderer.fonts}
    fonts = {font.spec.id: font for font in renderer.fonts}
    used = set()
    for index in range(600):
        sample = renderer.sample(5, index)
        used.add(sample.font)
        lacking = [c for c in sample.label if ord(c) not in cmaps[sample.font]]
        assert not lacking, f"{sample.label!r} drawn with {sample.font}, which lacks {lacking}"
        for char in set(sample.label) - {" "}:  # render check, independent of the glyph cache
            mask = fonts[sample.font].image_font.getmask(char)
            assert mask.getbbox() is not None, f"{char!r} draws no ink in {sample.font}"
    assert len(used) >= 10  # the mix really spreads over the manifest


def test_every_charset_character_has_a_font_and_latin_fonts_never_get_hanzi(renderer):
    charset = build_charset(Charset())
    assert all(any(font.glyph(c) for font in renderer.fonts) for c in charset)
    latin = [font for font in renderer.fonts if font.glyph("国") is None]
    assert latin and all(not font.draws("价格399") for font in latin)


def test_a_corrupt_font_file_is_named(tmp_path):
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"\x00\x01\x00\x00" + b"garbage" * 100)
    manifest = manifest_with(tmp_path, ("broken", broken))
    with pytest.raises(FontError, match="broken.ttf"):
        load_fonts(manifest, [], "abc", 32)


def test_a_font_covering_none_of_the_charset_is_named(tmp_path):
    build_test_font(tmp_path / "tofu.ttf")
    manifest = manifest_with(tmp_path, ("tofu", tmp_path / "tofu.ttf"))
    with pytest.raises(FontError, match="tofu.ttf: covers none of the charset"):
        load_fonts(manifest, [], "国家", 32)


def test_a_missing_font_file_is_named(tmp_path):
    manifest = manifest_with(tmp_path, ("ghost", tmp_path / "ghost.ttf"))
    with pytest.raises(FontError, match="ghost.ttf does not exist"):
        load_manifest(manifest)


def test_the_shipped_manifest_has_licences_and_several_cjk_and_latin_faces():
    specs = load_manifest(ROOT / "fonts" / "manifest.yaml")
    cjk = [s for s in specs if ord("国") in TTFont(s.path, fontNumber=s.face, lazy=True).getBestCmap()]
    assert len(cjk) >= 3 and len(specs) - len(cjk) >= 3
    assert all(spec.license.stat().st_size > 100 for spec in specs)
    shipped = sum(f.stat().st_size for f in (ROOT / "fonts").rglob("*") if f.is_file())
    assert shipped < 60 * 2**20, f"fonts/ holds {shipped / 2**20:.1f} MB"


def test_no_training_face_comes_from_a_package_that_draws_the_outside_set():
    """The outside check set (data/external) must show the model faces it never trained on."""
    styles = [json.loads(line) for line in (ROOT / "data" / "external" / "styles.jsonl").open(encoding="utf-8")]
    outside = {font["package"] for row in styles for font in (row["font"], row["latin_font"]) if font}
    manifest = yaml.safe_load((ROOT / "fonts" / "manifest.yaml").read_text(encoding="utf-8"))["fonts"]
    debian = [entry for entry in manifest if entry["source"].startswith("Debian ")]
    sources = {entry["id"]: entry["source"].split()[1].rstrip(",") for entry in debian}  # "Debian <package> ..."
    assert len(outside) >= 5 and len(sources) >= 40
    assert not {face: package for face, package in sources.items() if package in outside}


def test_fonts_command_reports_coverage_per_font(tmp_path):
    result = ocrpipe("fonts", "--params", write_params(tmp_path))
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[2:-1]}
    assert rows["wqy-zenhei"][:3] == ["3877", "100.0%", "3755/3755"], result.stdout
    assert rows["dejavu-sans"][:3] == ["102", "2.6%", "0/3755"]
    assert "charset: 3877 characters" in result.stdout


def test_glyph_cache_composes_like_trdg_places_characters(renderer):
    """trdg puts character i at the sum of the rounded advances before it plus the spacing."""
    from synth.draw import compose

    font = next(f for f in renderer.fonts if f.spec.id == "dejavu-sans-mono")
    ink = compose("1234", font, spacing=3)
    advance = round(font.image_font.getlength("1"))
    assert ink.shape == (32, 4 * advance + 3 * 3)
    columns = np.flatnonzero(ink.any(axis=0))
    assert columns[0] < advance and columns[-1] >= 3 * (advance + 3)
