import json
import re

import numpy as np
import pytest
from conftest import ocrpipe, write_params
from PIL import Image, ImageFont

from core.charset import CJK_PUNCTUATION, PRINTABLE_ASCII, build_charset, gb2312_hanzi, read_charset
from core.params import Charset, Params, ParamsError, Render, Rounds, load_params
from core.paths import trdg_asset
from core.shards import Shard, verify
from stages.render import plan_split, render_split, shard_seed
from synth.corpus import EN_FIELD_KINDS, EN_TOKEN_KINDS, CorpusError
from synth.draw import Renderer, outline, shadow_or_outline, shifted, slant, stretch
from synth.trdg_compat import patch_trdg


def test_default_charset_is_gb2312_level1_ascii_and_cjk_punctuation():
    charset = build_charset(Charset())
    hanzi = gb2312_hanzi("gb2312-1")
    assert len(hanzi) == 3755 and hanzi[0] == "啊" and hanzi[-1] == "座"
    assert len(charset) == len(set(charset)) == 3755 + 95 + len(CJK_PUNCTUATION)
    assert charset.startswith(PRINTABLE_ASCII)


def test_the_mix_draws_every_source_within_the_charset(renderer):
    charset = set(renderer.charset)
    by_source = {}
    for index in range(600):
        label, source = renderer.corpus.sample(np.random.default_rng([3, index]))
        assert set(label) <= charset and label == label.strip() and "  " not in label
        assert 1 <= len(label) <= 40
        by_source.setdefault(source, []).append(label)
    assert set(by_source) == {"digits", "en", "zh", "mixed"}
    assert all(re.fullmatch(r"\d{1,24}", s) for s in by_source["digits"])
    english = by_source["en"]
    assert all(set(s) <= set(PRINTABLE_ASCII + "￥") for s in english)
    assert any(re.fullmatch(r"[A-Z][a-z'].* .*[a-z]\.", s) for s in english)  # a sentence with a full stop
    assert any("," in s for s in english) and any(re.search(r"\d", s) for s in english)
    chinese = by_source["zh"]
    assert all(re.search(r"[\u4e00-\u9fff]", s) for s in chinese)
    assert any(re.search(r"[，。、：；]", s) for s in chinese) and any(re.search(r"[“（《【「]", s) for s in chinese)
    assert any(re.search(r"\d", s) for s in chinese)
    assert any(re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", s) for s in chinese)  # phrases set apart by a space
    mixed = "".join(by_source["mixed"])
    assert re.search(r"[\u4e00-\u9fff]", mixed) and re.search(r"[A-Za-z]", mixed) and re.search(r"\d", mixed)


def test_english_tokens_and_chinese_numbers_take_real_shapes(renderer):
    corpus, rng = renderer.corpus, np.random.default_rng(11)
    tokens = [corpus._en_token(rng, kind) for kind in range(EN_TOKEN_KINDS) for _ in range(30)]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", t) for t in tokens)  # a date
    assert any(re.fullmatch(r"\d\d:\d\d", t) for t in tokens)  # a time
    assert any(re.fullmatch(r"[\w.]+@[\w.]+\.\w+", t) for t in tokens)  # an e-mail address
    assert any(t.endswith("%") for t in tokens) and any(t.startswith("$") for t in tokens)
    assert any(re.fullmatch(r"#\d+", t) for t in tokens)  # Store #0421
    assert any(re.fullmatch(r"\d+ [x@*] \$\d+\.\d\d", t) for t in tokens)  # 3 x $4.50
    assert any(re.fullmatch(r"\+\d+ \(\d{3}\) \d{3}-\d{4}", t) for t in tokens)  # +1 (555) 010-2299
    numbers = [corpus._zh_number(rng) for _ in range(300)]
    assert any(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", n) for n in numbers)
    assert any(re.fullmatch(r"共计￥[\d,]+\.\d\d元", n) for n in numbers)
    assert any(re.fullmatch(r"第\d+章", n) for n in numbers)


def test_english_fields_take_the_shapes_of_receipts_forms_and_signs(tmp_path):
    """corpus.en_field_share: that share of English lines are addresses, items, measures, hours and codes."""
    english = {"mix": {"digits": 0, "en": 1, "zh": 0, "mixed": 0}}
    corpus = Renderer(load_params(write_params(tmp_path, corpus={**english, "en_field_share": 1.0}))).corpus
    rng = np.random.default_rng(17)
    fields = [corpus._en_field(rng, kind) for kind in range(EN_FIELD_KINDS) for _ in range(40)]
    assert all(f and set(f) <= set(PRINTABLE_ASCII) for f in fields)
    street = r"\d+ [A-Z][\w' ]* (Street|St|Ave|Avenue|Rd|Road|Blvd|Drive|Dr|Ln|Lane|Way)\.?"  # 1208 Juniper Ave
    assert any(re.fullmatch(street, f) for f in fields)
    assert any(re.fullmatch(r"[A-Z][\w' ]*, [A-Z]{2} \d{5}(-\d{4})?", f) for f in fields)  # Madison, WI 53703
    assert any(re.fullmatch(r"[A-Z][\w' ]* [A-Z]{1,2}\d{1,2} \d[A-Z]{2}", f) for f in fields)  # Leeds LS2 9JT
    assert any(re.fullmatch(r"[A-Z][\w' ]*, [A-Z]{2} [A-Z]\d[A-Z] \d[A-Z]\d", f) for f in fields)  # Calgary, AB T2P 1J9
    assert any(re.fullmatch(r"[A-Z][\w' ]* \d+ (fl oz|[A-Za-z]+) \$\d+\.\d\d", f) for f in fields)  # Milk 1 gal $3.49
    assert any(re.fullmatch(r"[A-Z][\w' ]*: \$\d+(,\d{3})*\.\d\d", f) for f in fields)  # Subtotal: $41.20
    hours = r"(Open )?(Mon|Tue|Wed|Thu|Fri)-(Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2}am-\d{1,2}pm"  # Open Mon-Sat 8am-9pm
    assert any(re.fullmatch(hours, f) for f in fields)
    assert any(re.fullmatch(r"(Page|Item|Step|No\.) (\d+) of (\d+)", f) for f in fields)
    assert any(f.isupper() and " " in f for f in fields)  # NO PARKING
    samples = [corpus.sample(rng) for _ in range(200)]  # cut to corpus.line_length like every line
    assert all(source == "en" and 1 <= len(line) <= 40 for line, source in samples)


def test_every_ascii_character_and_cjk_punctuation_mark_is_drawn(renderer):
    """A character the corpus never draws is one the model can never read (until base sitting 8,
    "#", "+", "&", "|", "『", "～" and 19 more were never drawn, though in the charset)."""
    rng, drawn = np.random.default_rng(13), set()
    for _ in range(10_000):
        drawn.update(renderer.corpus.sample(rng)[0])
    assert set(PRINTABLE_ASCII + CJK_PUNCTUATION) - drawn == set()


def test_rare_hanzi_get_a_floor_under_their_frequency(tmp_path):
    """Frequency-weighted words alone leave most level-1 hanzi unseen; the uniform share reaches them."""
    seen = {}
    for share in (0.0, 0.5):
        params = load_params(
            write_params(tmp_path, corpus={"mix": {"digits": 0, "en": 0, "zh": 1, "mixed": 0}, "zh_rare_share": share})
        )
        corpus = Renderer(params).corpus
        rng = np.random.default_rng(5)
        seen[share] = {c for _ in range(1500) for c in corpus.sample(rng)[0] if "\u4e00" <= c <= "\u9fff"}
    assert len(seen[0.5]) > 1.3 * len(seen[0.0]) and len(seen[0.5]) > 2500


def test_samples_have_the_line_height_and_vary_in_style(renderer):
    samples = [renderer.sample(9, i) for i in range(300)]
    assert all(s.image.shape[0] == 32 and s.image.shape[2] == 3 and s.image.dtype == np.uint8 for s in samples)
    styles = [s.style for s in samples]
    assert {s["background"] for s in styles} == {"plain", "gaussian", "quasicrystal", "image"}
    assert {s["distortion"] for s in styles} == {None, "sine", "random"}
    assert any(s["inverted"] for s in styles) and any(s["skew"] for s in styles) and any(s["blur"] for s in styles)
    for sample in samples:  # light on dark when inverted, dark on light otherwise
        grey = sample.image.mean(axis=2)
        background_is_light = np.median(grey) > 110
        assert background_is_light != sample.style["inverted"], sample.style


def test_a_sample_depends_only_on_seed_and_index(renderer):
    fresh = Renderer(Params())
    for index in (0, 17, 123):
        a, b = renderer.sample(4, index), fresh.sample(4, index)
        assert a.label == b.label and a.font == b.font and np.array_equal(a.image, b.image)


def test_shard_seeds_differ_across_splits_and_do_not_depend_on_the_count():
    seeds = {(split, k): shard_seed(1, split, k) for split in ("train", "val", "test") for k in range(50)}
    assert len(set(seeds.values())) == len(seeds)


def with_train_shards(params: Params, count: int) -> Params:
    return Params.model_validate(
        {**params.model_dump(), "shards": {**params.shards.model_dump(), "splits": {"train": count}}}
    )


def test_render_split_uses_processes_keeps_current_shards_and_drops_extra_ones(tmp_path):
    params = load_params(
        write_params(tmp_path, shards={"out_dir": "shards", "images_per_shard": 20, "splits": {"train": 3}})
    )
    paths = render_split(params, "train", jobs=2)
    assert [p.name for p in paths] == ["shard-00000.tar", "shard-00001.tar", "shard-00002.tar"]
    assert all(verify(p) == [] for p in paths)
    ids = [row["id"] for p in paths for row in Shard(p).index]
    assert ids == list(range(60))  # unique within the split
    assert len(read_charset(tmp_path / "shards" / "train" / "charset.json")) == 3877
    before = {p: p.stat().st_mtime_ns for p in paths}

    paths = render_split(with_train_shards(params, 4), "train", jobs=2)
    assert len(paths) == 4 and all(p.stat().st_mtime_ns == before[p] for p in paths[:3])

    render_split(with_train_shards(params, 2), "train")
    assert sorted(p.name for p in (tmp_path / "shards" / "train").glob("*.tar")) == [
        "shard-00000.tar",
        "shard-00001.tar",
    ]

    # a sitting's new shards alone (--first-shard): the ones before it are neither drawn nor removed
    (new,) = render_split(with_train_shards(params, 4), "train", first=3)
    assert new.name == "shard-00003.tar" and [row["id"] for row in Shard(new).index] == list(range(60, 80))
    assert sorted(p.name for p in (tmp_path / "shards" / "train").glob("*.tar")) == [
        "shard-00000.tar",
        "shard-00001.tar",
        "shard-00003.tar",
    ]


def test_render_workers_die_with_a_killed_parent_and_leave_no_partial_shard(tmp_path):
    """SIGKILL to `ocrpipe render` (nothing of it can clean up): its workers stop too, and every
    shard left under its name is whole."""
    import os
    import signal
    import subprocess
    import time

    import psutil
    from conftest import OCRPIPE

    params = write_params(tmp_path, shards={"out_dir": "shards", "images_per_shard": 400, "splits": {"train": 12}})
    parent = subprocess.Popen([*OCRPIPE, "render", "--split", "train", "--params", params, "--jobs", "2"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    folder = tmp_path / "shards" / "train"
    deadline = time.monotonic() + 120
    while not list(folder.glob(".shard-*.partial")) and time.monotonic() < deadline:  # workers are drawing
        time.sleep(0.2)
    workers = [
        p
        for p in psutil.Process(parent.pid).children(recursive=True)
        if "resource_tracker" not in " ".join(p.cmdline())
    ]
    assert workers, "no render worker started"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    _, alive = psutil.wait_procs(workers, timeout=20)
    assert not alive, [p.cmdline() for p in alive]
    assert not list(folder.glob(".shard-*")), "a partial shard was left behind"
    shards = sorted(folder.glob("shard-*.tar"))
    assert len(shards) < 12 and all(verify(path) == [] for path in shards)


def test_a_new_training_round_draws_new_lines_and_leaves_val_and_test(tmp_path):
    shards = {"out_dir": "shards", "images_per_shard": 10, "splits": {"train": 2, "val": 1, "test": 1}}
    params = load_params(write_params(tmp_path, shards=shards))
    assert params.shards.rounds.train == 0 and shard_seed(1, "train", 3, 0) == shard_seed(1, "train", 3)

    def labels(split):
        return [
            row["label"] for path in sorted((tmp_path / "shards" / split).glob("*.tar")) for row in Shard(path).index
        ]

    for split in ("train", "val", "test"):
        render_split(params, split, jobs=1)
    before = {split: labels(split) for split in ("train", "val", "test")}
    next_round = params.model_copy(update={"shards": params.shards.model_copy(update={"rounds": Rounds(train=1)})})
    assert [path.name for path, _, _ in plan_split(next_round, "train")] == ["shard-00000.tar", "shard-00001.tar"]
    assert plan_split(next_round, "val") == [] and plan_split(next_round, "test") == []
    render_split(next_round, "train", jobs=1)
    after = labels("train")
    assert len(after) == 20 and len(set(after) & set(before["train"])) <= 2  # new lines (a short one may recur)
    assert all(verify(path) == [] for path in (tmp_path / "shards" / "train").glob("*.tar"))


def test_render_command_renders_splits(tmp_path):
    params = write_params(tmp_path, shards={"out_dir": "out", "images_per_shard": 10, "splits": {"val": 2}})
    result = ocrpipe("render", "--split", "val", "--params", params)
    assert "val: 2 shard(s)" in result.stdout
    assert len(list((tmp_path / "out" / "val").glob("shard-*.tar"))) == 2


@pytest.mark.parametrize(
    "section, values, culprit",
    [
        ("render", {"height": 3}, "render.height"),
        ("render", {"blur_sigma": -1}, "render.blur_sigma"),
        ("render", {"colour": "red"}, "render.colour"),
        ("corpus", {"digits_length": {"min": 5, "max": 2}}, "corpus.digits_length"),
        ("corpus", {"mix": {"digits": 0, "en": 0, "zh": 0, "mixed": 0}}, "corpus.mix"),
        ("charset", {"hanzi": "big5"}, "charset.hanzi"),
        ("shards", {"images_per_shard": 0}, "shards.images_per_shard"),
    ],
)
def test_bad_params_name_the_field(tmp_path, section, values, culprit):
    path = write_params(tmp_path, **{section: values})
    with pytest.raises(ParamsError, match=re.escape(culprit)):
        load_params(path)
    result = ocrpipe("render", "--out", tmp_path / "x.tar", "--count", 1, "--params", path, check=False)
    assert result.returncode == 2 and culprit in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.tar").exists()


def test_a_params_file_extends_another_section_by_section(tmp_path):
    parent = load_params(write_params(tmp_path))
    child = tmp_path / "child.yaml"
    child.write_text("extends: params.yaml\nseed: 5\nrender: {skew_probability: 0.9, backgrounds: {plain: 1}}\n")
    loaded = load_params(child)
    assert loaded.seed == 5 and loaded.render.skew_probability == 0.9
    assert loaded.render.height == parent.render.height and loaded.corpus == parent.corpus
    assert loaded.render.backgrounds == Render(backgrounds={"plain": 1}).backgrounds  # whole: not merged with the parent's

    (tmp_path / "orphan.yaml").write_text("extends: missing.yaml\n")
    with pytest.raises(ParamsError, match=r"orphan\.yaml: extends: .*missing\.yaml: no such params file"):
        load_params(tmp_path / "orphan.yaml")
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(ParamsError, match="loop.yaml: extends itself"):
        load_params(tmp_path / "loop.yaml")


def test_a_custom_corpus_with_characters_outside_the_charset_lists_them(tmp_path):
    corpus = tmp_path / "lines.txt"
    corpus.write_text("价格：￥399.00\n𠀀 unusual\n繁體字 ok\n", encoding="utf-8")
    params = write_params(
        tmp_path, corpus={"custom_file": "lines.txt", "mix": {"digits": 0, "en": 0, "zh": 0, "mixed": 0, "custom": 1}}
    )
    with pytest.raises(CorpusError) as error:
        Renderer(load_params(params))
    message = str(error.value)
    assert str(corpus) in message and "'𠀀'" in message and "'體'" in message and "lines 2, 3" in message
    assert "'价'" not in message


def test_a_custom_corpus_inside_the_charset_is_rendered(tmp_path):
    (tmp_path / "lines.txt").write_text("发票号码 04400191\n合计 ￥88.50\n", encoding="utf-8")
    params = write_params(
        tmp_path, corpus={"custom_file": "lines.txt", "mix": {"digits": 0, "en": 0, "zh": 0, "mixed": 0, "custom": 1}}
    )
    renderer = Renderer(load_params(params))
    labels = {renderer.sample(1, i).label for i in range(20)}
    assert labels == {"发票号码 04400191", "合计 ￥88.50"}


def test_trdg_renders_on_modern_pillow_once_patched():
    """Stock trdg 1.8.0 calls ImageFont.getsize (gone in Pillow 10); the patch restores it faithfully."""
    patch_trdg()
    from trdg.generators import GeneratorFromStrings

    font = str(trdg_asset("fonts/cn/SourceHanSans-Normal.ttf"))
    generator = GeneratorFromStrings(
        ["价格：￥399.00 含税", "gjpqy"], count=2, fonts=[font], size=32, background_type=1
    )
    for image, label in generator:
        assert isinstance(image, Image.Image) and image.height == 32
    # Height is the bottom of the ink from the ascender origin: descenders are kept, not clipped.
    image_font = ImageFont.truetype(font, 32)
    from trdg import utils

    assert utils.get_text_height(image_font, "gjpqy") == image_font.getbbox("gjpqy")[3]
    assert utils.get_text_height(image_font, "gjpqy") > image_font.getbbox("gjpqy")[3] - image_font.getbbox("gjpqy")[1]


def test_the_realistic_styles_are_each_drawn(tmp_path):
    params = load_params(
        write_params(
            tmp_path,
            render={
                "text_sizes": [14, 64], "rotate_probability": 1, "perspective_probability": 1,
                "rule_probability": 1, "jpeg_probability": 1, "low_contrast_probability": 0.5,
                "character_spacing": {"min": -2, "max": 3}, "margin_horizontal": {"min": 0, "max": 24},
                "slant_probability": 0.5, "width_scale_probability": 0.5, "effect_probability": 0.5,
                "backgrounds": {"plain": 0, "gaussian": 0, "quasicrystal": 0, "image": 0, "gradient": 1, "texture": 1},
            },
        )
    )  # fmt: skip
    renderer = Renderer(params)
    samples = [renderer.sample(2, i) for i in range(80)]
    styles = [s.style for s in samples]
    assert all(s.image.shape[0] == 32 for s in samples)
    assert {s["size"] for s in styles} == {14, 64} and {s["background"] for s in styles} == {"gradient", "texture"}
    assert all(s["perspective"] and 20 <= s["jpeg"] <= 90 for s in styles)
    assert sum(s["rotation"] != 0 for s in styles) >= 75  # a turn can round to 0.00°
    assert {s["rule"] for s in styles} == {"underline", "above", "below"}
    assert any(s["low_contrast"] for s in styles) and any(not s["low_contrast"] for s in styles)
    assert min(s["spacing"] for s in styles) < 0
    slants = [s["slant"] for s in styles]
    assert 20 < sum(a != 0 for a in slants) < 60 and min(slants) < 0 < max(slants)  # mostly leaning right
    assert sum(a > 0 for a in slants) > 2 * sum(a < 0 for a in slants)
    assert 20 < sum(s["width_scale"] != 1 for s in styles) < 60
    assert min(s["width_scale"] for s in styles) < 0.85 and max(s["width_scale"] for s in styles) > 1.15
    effects = [s["effect"] for s in styles if s["effect"]]
    assert 20 < len(effects) < 60 and {e["kind"] for e in effects} == {"shadow", "outline"}
    for sample in samples:  # faint or not, text stays darker than light paper (lighter when inverted)
        grey = sample.image.mean(axis=2)
        assert (np.median(grey) > 110) != sample.style["inverted"], sample.style

    # Small text, resampled up, is softer than large text brought down to the same height.
    def sharpness(sample):
        return np.abs(np.diff(sample.image.mean(axis=2), axis=1)).mean()

    small = [sharpness(s) for s in samples if s.style["size"] == 14 and not s.style["low_contrast"]]
    large = [sharpness(s) for s in samples if s.style["size"] == 64 and not s.style["low_contrast"]]
    assert np.median(small) < np.median(large)


def test_slant_leans_the_top_right_and_stretch_keeps_the_height():
    bar = np.zeros((40, 30), np.uint8)
    bar[:, 10:14] = 255  # a vertical stroke
    leaning = slant(bar, 45)
    assert leaning.shape == (40, 70)
    top, bottom = (np.flatnonzero(leaning[row] > 127).mean() for row in (0, 39))
    assert 36 <= top - bottom <= 42  # tan 45° x 40 rows, the foot where it was
    assert abs(bottom - 11.5) <= 1.5
    backwards = slant(bar, -45)
    assert np.flatnonzero(backwards[0] > 127).mean() < np.flatnonzero(backwards[39] > 127).mean()
    assert stretch(bar, 0.5).shape == (40, 15) and stretch(bar, 1.5).shape == (40, 45)


def test_an_outline_grows_the_ink_and_a_shadow_moves_it():
    ink = np.zeros((40, 60), np.uint8)
    ink[10:30, 20:24] = 255  # a vertical stroke, 4 px wide
    widths = [np.flatnonzero(outline(ink, width)[20] > 127).size for width in (0, 1, 2)]
    assert widths == [4, 6, 8]  # a stroke of 1 px on each side, then 2
    half = outline(ink, 1.5)[20]
    assert np.array_equal(half > 0, outline(ink, 2)[20] > 0)
    assert half[18] == half[25] == 128  # the outer pixels half-covered
    moved = shifted(ink, 3, -2)
    assert np.array_equal(moved[8:28, 23:27], ink[10:30, 20:24]) and moved.sum() == ink.sum()
    assert shifted(ink, 50, 0).sum() == 0  # moved out of the frame: cut off


def test_a_shadow_lies_offset_under_the_text_and_a_halo_on_the_papers_side():
    text = np.zeros((40, 80), np.uint8)
    text[10:30, 30:34] = 255
    drawn = {"shadow": [], "outline": []}
    for seed in range(40):
        for paper, colour in ((230.0, 20), (40.0, 200)):  # dark text on light paper, and the reverse
            under, shade, style = shadow_or_outline(text, np.full(3, colour), paper, np.random.default_rng(seed), Render(), 1.0)  # fmt: skip
            assert json.loads(json.dumps(style)) == style  # shard metadata
            drawn[style["kind"]].append((paper, colour, under, shade, style))
    assert len(drawn["shadow"]) > 20 and len(drawn["outline"]) > 20
    for _, _, under, shade, style in drawn["shadow"]:
        assert 0.5 <= np.hypot(style["dx"], style["dy"]) <= 3.01 and shade.max() < 60
        assert under.max() <= 0.8 * 255 + 1  # partly transparent
        rows, columns = np.indices(under.shape)
        centre = [(axis * under).sum() / under.sum() for axis in (columns, rows)]
        assert np.allclose(centre, [31.5 + style["dx"], 19.5 + style["dy"]], atol=0.05)  # the text's centre, moved
    for paper, colour, under, stroke, style in drawn["outline"]:
        assert (under >= text).all() and (under > 0).sum() > (text > 0).sum()
        halo = stroke[0] != colour
        assert not halo or (stroke[0] >= 200 if paper > colour else stroke[0] < 56)
    assert {stroke[0] != colour for _, colour, _, stroke, _ in drawn["outline"]} == {True, False}


def test_a_style_at_probability_0_takes_nothing_from_the_random_stream(tmp_path):
    """Params from before slant and width existed (probability 0) keep the lines they drew;
    a vanishing probability, which draws a number but never applies, shifts everything after."""

    def renderer(name, **render):
        (tmp_path / name).mkdir()
        return Renderer(load_params(write_params(tmp_path / name, render={"text_sizes": [20, 40], **render})))

    off = renderer("off", slant_probability=0, width_scale_probability=0)
    off_other_ranges = renderer("ranges", slant_probability=0, width_scale_probability=0, slant_degrees=20,
                                width_scale={"min": 0.5, "max": 2}, shadow_offset={"min": 1, "max": 5},
                                outline_width={"min": 1, "max": 4})  # fmt: skip
    drawing = renderer("drawing", slant_probability=1e-300, width_scale_probability=1e-300, effect_probability=1e-300)
    shifted = 0
    for i in range(20):
        a, b, c = off.sample(7, i), off_other_ranges.sample(7, i), drawing.sample(7, i)
        assert a.label == b.label == c.label and np.array_equal(a.image, b.image)
        assert a.style["slant"] == c.style["slant"] == 0 and a.style["width_scale"] == c.style["width_scale"] == 1
        assert a.style["effect"] is c.style["effect"] is None
        shifted += not np.array_equal(a.image, c.image)
    assert shifted >= 15
