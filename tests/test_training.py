"""The training side on tiny shards: real Keras (torch backend here, tensorflow in a fresh process)."""

import json
import os
import platform
import re
import signal
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import yaml
from conftest import OCRPIPE, ROOT, TINY_MODEL, ocrpipe, write_params
from PIL import Image, ImageOps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Rendered tiny splits, a params file for a tiny model, and that model trained for 2 epochs."""
    directory = tmp_path_factory.mktemp("tiny")
    params = write_params(
        directory,
        seed=3,
        shards={"out_dir": "shards", "images_per_shard": 120, "splits": {"train": 1, "val": 1, "test": 1}},
        model=TINY_MODEL,
        train={
            "backend": "torch",
            "init": "scratch",
            "learning_rate": 0.003,  # from scratch: params.yaml's rate is for fine-tuning
            "warmup_steps": 100,
            "model_path": "models/crnn.keras",
            "live_dir": "dvclive",
            "batch_size": 8,
            "epochs": 2,
            "steps_per_epoch": 4,
            "val_lines": 40,
            "max_minutes": 0,
        },
    )
    ocrpipe("render", "--split", "train", "--split", "val", "--split", "test", "--params", params, cwd=directory)
    result = ocrpipe("train", "--params", params, cwd=directory)
    return directory, params, json.loads(result.stdout[result.stdout.index("{") :])


def test_training_writes_a_model_its_charset_and_curves(tiny):
    directory, _, summary = tiny
    assert summary["epochs_run"] == 2 and not summary["resumed"]
    assert (directory / "models" / "crnn.keras").is_file()
    charset = json.loads((directory / "models" / "crnn.charset.json").read_text(encoding="utf-8"))["characters"]
    assert len(charset) == 3877
    curves = (directory / "dvclive" / "plots" / "metrics").glob("*.tsv")
    assert {p.stem for p in curves} >= {"loss", "val_seq_acc", "val_char_acc"}
    assert not (directory / "models" / ".crnn.checkpoint").exists()  # removed once training ended


def test_loss_falls_on_a_tiny_shard(tiny):
    import keras

    from core.charset import read_charset
    from core.params import load_params
    from stages.train import ctc_loss
    from training.batches import LineBatches
    from training.data import load_lines
    from training.model import build_crnn

    directory, params, _ = tiny
    config = load_params(params)
    charset = read_charset(directory / "shards" / "train" / "charset.json")
    keras.utils.set_random_seed(0)
    model, _ = build_crnn(config.model, len(charset))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=ctc_loss)
    lines = [line for line in load_lines(directory / "shards" / "train") if line.label.isdigit()][:8]
    x, y = LineBatches(lines, charset, 32, 8)[0]
    losses = [float(model.train_on_batch(x, y)) for _ in range(40)]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses


def test_saved_model_loads_in_a_fresh_process_with_identical_outputs(tiny, tmp_path):
    import keras

    directory, _, _ = tiny
    path = directory / "models" / "crnn.keras"
    rng = np.random.default_rng(0)
    batch = rng.random((2, 32, 96, 1), dtype=np.float32)
    np.save(tmp_path / "batch.npy", batch)
    here = keras.ops.convert_to_numpy(keras.saving.load_model(path, safe_mode=True)(batch))
    assert np.allclose(here.sum(axis=-1), 1.0, atol=1e-4)  # probabilities per frame, nothing else
    assert here.shape == (2, 96 // 4, 3878)
    for backend in ("torch", "tensorflow"):  # trained under torch, exported cleanly to tensorflow too
        script = (
            "import sys, numpy as np, keras; "
            f"m = keras.saving.load_model({str(path)!r}, safe_mode=True); "
            f"np.save({str(tmp_path / backend)!r}, keras.ops.convert_to_numpy(m(np.load({str(tmp_path / 'batch.npy')!r}))))"
        )
        env = {**os.environ, "KERAS_BACKEND": backend}
        subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True)
        there = np.load(tmp_path / f"{backend}.npy")
        assert np.allclose(here, there, atol=1e-5), f"{backend}: max difference {np.abs(here - there).max()}"


def params_beside(tiny, directory, **train):
    """The tiny params with other train settings, written in directory (data paths kept absolute)."""
    config = yaml.safe_load(tiny[1].read_text(encoding="utf-8"))
    config["shards"]["out_dir"] = str(tiny[0] / "shards")
    config["train"].update(live_dir=str(directory / "live"), **train)
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_an_interrupted_training_resumes_from_its_checkpoint(tiny, tmp_path):
    directory, _, _ = tiny
    epochs = 30
    resumable = params_beside(tiny, tmp_path, epochs=epochs, patience=100, model_path=str(tmp_path / "resume.keras"))
    metadata = tmp_path / ".resume.checkpoint" / "training_metadata.json"
    process = subprocess.Popen(
        [*OCRPIPE, "train", "--params", resumable], cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if metadata.exists() and json.loads(metadata.read_text() or "{}").get("epoch", 0) >= 2:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert metadata.exists(), "the run ended before a checkpoint was seen"
    done = json.loads(metadata.read_text())["epoch"]
    assert 2 <= done < epochs
    result = ocrpipe("train", "--params", resumable, cwd=directory)
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["resumed"] and summary["epochs_run"] == epochs - done
    assert not metadata.parent.exists()


def test_a_stale_checkpoint_from_other_params_is_not_resumed(tiny, tmp_path):
    directory, _, _ = tiny
    changed = params_beside(tiny, tmp_path, epochs=1, model_path=str(tmp_path / "m.keras"))
    checkpoint = tmp_path / ".m.checkpoint"
    checkpoint.mkdir()
    (checkpoint / "params.sha256").write_text("something else")
    (checkpoint / "training_metadata.json").write_text('{"epoch": 5, "batch": 0}')
    result = ocrpipe("train", "--params", changed, cwd=directory)
    assert "checkpoint of other params" in result.stdout
    assert json.loads(result.stdout[result.stdout.index("{") :])["epochs_run"] == 1
    assert re.search(r"^epoch 1/1: loss [\d.]+, val seq_acc [\d.]+ char_acc [\d.]+ \(best so far, saved\), lr ",
                     result.stdout, re.MULTILINE)  # fmt: skip


def test_reading_decodes_as_keras_ctc_decode_does(tiny):
    """The reader asks the model for the best class per frame and decodes in numpy: the texts
    must be those of keras.ops.ctc_decode(greedy, mask_index=0) on the full probabilities."""
    import keras

    from core.params import PIXELS_PER_STEP
    from training.data import ImageReader, load_lines, pad_batch, to_grey, to_model_input
    from training.infer import Reader

    directory, _, _ = tiny
    reader = Reader.load(directory / "models" / "crnn.keras")
    images = ImageReader()
    lines = [
        to_model_input(to_grey(images.read(line)), reader.height) for line in load_lines(directory / "shards/test")[:24]
    ]
    x = pad_batch(lines, multiple=128)
    lengths = np.array([-(-line.shape[1] // PIXELS_PER_STEP) for line in lines], np.int32)
    probabilities = keras.ops.convert_to_numpy(reader.model.predict_on_batch(x))
    decoded, _ = keras.ops.ctc_decode(probabilities, lengths, strategy="greedy", merge_repeated=True, mask_index=0)
    paths = keras.ops.convert_to_numpy(decoded[0])
    expected = ["".join(reader.charset[c - 1] for c in path if c > 0) for path in paths]
    best = keras.ops.convert_to_numpy(reader.best_classes.predict_on_batch(x))
    assert (best == probabilities.argmax(-1)).all()
    assert reader.decode(best, lengths) == expected
    # and on paths with every case: repeats, blanks between repeats, a trailing run cut by the length
    reader_paths = np.array([[0, 5, 5, 0, 5, 7, 7, 7, 0, 0], [3, 3, 3, 3, 0, 0, 0, 0, 9, 9]])
    one_hot = np.eye(len(reader.charset) + 1, dtype=np.float32)[reader_paths]
    decoded, _ = keras.ops.ctc_decode(one_hot, np.array([10, 9]), strategy="greedy", mask_index=0)
    paths = keras.ops.convert_to_numpy(decoded[0])
    assert reader.decode(reader_paths, [10, 9]) == ["".join(reader.charset[c - 1] for c in p if c > 0) for p in paths]


def test_a_line_reads_the_same_alone_and_among_others(small_shard, monkeypatch):
    """Each line is padded to its own width (the backward LSTM reads the padding first), not to
    its batch's widest line: the text read does not depend on the other lines read with it."""
    import training.infer
    from training.data import ImageReader, load_lines, pad_batch, to_grey, to_model_input
    from training.infer import READ_WIDTH_STEP, Reader

    def padded_alike(images, multiple):
        assert len({-(-image.shape[1] // READ_WIDTH_STEP) for image in images}) == 1
        return pad_batch(images, multiple)

    monkeypatch.setattr(training.infer, "pad_batch", padded_alike)  # whatever the model makes of padding

    reader = Reader.load(ROOT / "models" / "base" / "crnn-base.keras")
    images = ImageReader()
    lines = [to_model_input(to_grey(images.read(line)), 32) for line in load_lines(small_shard)[:24]]
    wide = np.hstack(lines[:12])[:, :1000]  # lines that would pad the others by hundreds of pixels
    assert len({-(-line.shape[1] // READ_WIDTH_STEP) for line in lines}) > 1
    alone = [reader.read_inputs([line])[0] for line in lines]
    assert sum(map(bool, alone)) > 20
    assert reader.read_inputs([*lines, wide, wide], batch_size=32)[:24] == alone
    assert reader.read_inputs([wide, *lines[::-1]], batch_size=5)[:0:-1] == alone


def test_evaluate_writes_metrics_per_slice_and_an_error_picture(tiny):
    directory, params, _ = tiny
    out = directory / "metrics" / "eval.json"
    ocrpipe(
        "evaluate",
        "--model",
        "models/crnn.keras",
        "--data",
        "shards/test",
        "--out",
        out,
        "--params",
        params,
        cwd=directory,
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["n"] == 120
    for key in ("seq_acc", "char_acc", "seq_acc_norm", "char_acc_norm"):
        assert 0 <= result[key] <= 1
    assert set(result["slices"]) == {"digits", "en", "zh", "mixed"}
    assert sum(s["n"] for s in result["slices"].values()) == 120
    picture = Image.open(out.with_name("eval.errors.png"))
    assert picture.width > 600 and picture.height > 100


def test_evaluate_reads_image_folders_and_listing_files_alike(tiny, tmp_path):
    directory, params, _ = tiny
    ocrpipe("shards", "extract", directory / "shards" / "test" / "shard-00000.tar", tmp_path / "lines")

    def evaluated(name, data):
        out = tmp_path / f"{name}.json"
        ocrpipe(
            "evaluate", "--model", directory / "models" / "crnn.keras", "--data", data, "--out", out, "--params", params
        )
        return json.loads(out.read_text(encoding="utf-8"))

    listing = tmp_path / "lines" / "labels.tsv"
    shard = evaluated("shard", directory / "shards" / "test")
    folder, listed = evaluated("folder", tmp_path / "lines"), evaluated("listing", listing)
    for result in (folder, listed):
        assert result["n"] == shard["n"]
        assert result["char_acc"] == pytest.approx(shard["char_acc"])
        assert result["lines_sha256_16"] == shard["lines_sha256_16"]
    # What was read is named by its lines, not their order; one line drawn otherwise is other lines.
    rows = listing.read_text(encoding="utf-8").splitlines(True)
    listing.write_text("".join(rows[::-1]), encoding="utf-8")
    assert evaluated("reordered", listing)["lines_sha256_16"] == shard["lines_sha256_16"]
    first = tmp_path / "lines" / rows[0].split("\t")[0]
    ImageOps.invert(Image.open(first).convert("L")).save(first)
    assert evaluated("redrawn", listing)["lines_sha256_16"] != shard["lines_sha256_16"]


def test_read_handles_odd_modes_sizes_and_broken_files(tiny, tmp_path):
    directory, params, _ = tiny
    from core.shards import Shard

    shard = Shard(directory / "shards" / "test" / "shard-00000.tar")
    rgb = shard.image(0).convert("RGB")
    paths = []
    for mode in ("RGB", "RGBA", "L", "P", "I;16", "1"):
        path = tmp_path / f"line-{mode.replace(';', '')}.png"
        (rgb.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(rgb.convert("L"), np.uint16) * 257)).save(
            path
        )
        paths.append(path)
    wide = Image.new("L", (4000, 32), 255)
    for x in range(0, 4000, rgb.width):
        wide.paste(rgb.convert("L"), (x, 0))
    wide.save(tmp_path / "wide.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)  # 400 megapixels: over Pillow's bomb limit
    Image.new("RGB", (1, 1), "white").save(tmp_path / "dot.png")
    page = Image.new("L", (400, 3000), 255)
    page.paste(rgb.convert("L"), (10, 200))
    page.save(tmp_path / "page.png")
    readable = [*paths, tmp_path / "wide.png", tmp_path / "dot.png", tmp_path / "page.png"]
    targets = [*readable, tmp_path / "broken.png", bomb]
    result = ocrpipe("read", "--model", directory / "models" / "crnn.keras", "--params", params, *targets, check=False)
    assert result.returncode == 1
    printed = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert set(printed) == {str(p) for p in readable}
    assert "broken.png" in result.stderr and "bomb.png" in result.stderr and "Traceback" not in result.stderr
    # A blank image reads as nothing (not a guessed character); blank and page-sized ones are named.
    assert printed[str(tmp_path / "dot.png")] == ""
    assert f"warning: {tmp_path / 'dot.png'}: blank (1x1 px of one colour)" in result.stderr
    assert f"warning: {tmp_path / 'page.png'}: page-sized (400x3000 px)" in result.stderr
    # Our lines only: no TensorFlow or absl start-up notices.
    assert all(line.startswith(("error: ", "warning: ")) for line in result.stderr.splitlines()), result.stderr


def test_lines_are_cropped_to_their_text_rows_whatever_the_polarity_and_noise():
    from training.data import MARGIN_OF_TEXT_HEIGHT, crop_to_text, to_model_input

    rng = np.random.default_rng(0)
    line = np.full((60, 300), 235, np.uint8)  # text 20 rows high, 20 rows of margin each side
    line[20:40, 20:280:6] = 20
    margin = round(20 * MARGIN_OF_TEXT_HEIGHT)
    expected = line[20 - margin : 40 + margin]
    assert np.array_equal(crop_to_text(line), expected)
    assert np.array_equal(crop_to_text(255 - line), 255 - expected)  # light on dark
    noisy = np.clip(line + rng.normal(0, 6, line.shape), 0, 255).astype(np.uint8)
    assert crop_to_text(noisy).shape == expected.shape
    # Already tight (as the renderer draws), blank, or too small to hold text: as it is.
    assert np.array_equal(crop_to_text(expected), expected)
    rule = np.full((60, 300), 235, np.uint8)  # a table rule is not a line of text
    rule[30:32] = 20
    assert np.array_equal(crop_to_text(rule), rule)
    blank = np.full((50, 80), 128, np.uint8)
    assert np.array_equal(crop_to_text(blank), blank)
    assert crop_to_text(np.zeros((1, 1), np.uint8)).shape == (1, 1)
    # The model sees the text at its height, not the margins: the cropped band scaled to 32 rows.
    assert to_model_input(line, 32).shape == (32, round(300 * 32 / len(expected)))
    # Training draws the margins above and below apart; the image's own edges bound them.
    assert np.array_equal(crop_to_text(line, (0.0, 0.0)), line[20:40])
    assert np.array_equal(crop_to_text(line, (0.5, 0.25)), line[10:45])
    assert np.array_equal(crop_to_text(line, (2.0, 0.0)), line[0:40])


def test_stroke_weight_changes_alike_on_light_and_dark_lines_and_augmented_batches_keep_their_frames(tiny):
    from core.charset import read_charset
    from training.batches import LineBatches, frames_needed
    from training.data import change_stroke_weight, load_lines

    line = np.full((32, 200), 230, np.uint8)
    line[8:24, 10:190:8] = 20  # strokes 1 px wide, 16 high
    for ink_is_dark, picture in ((True, line), (False, 255 - line)):
        ink = (lambda image: image < 125) if ink_is_dark else (lambda image: image > 130)
        before = ink(picture).sum()
        assert ink(change_stroke_weight(picture, 1.0)).sum() > 1.5 * before  # bolder: a pixel wider
        assert ink(change_stroke_weight(picture, -1.0)).sum() < 0.5 * before  # lighter: strokes fade
        half = change_stroke_weight(picture, 0.5).astype(int)
        assert np.abs(half - picture).max() == pytest.approx(105, abs=1)  # half way to the full change
        assert np.array_equal(change_stroke_weight(picture, 0.0), picture)

    # Augmented batches (margins drawn apart above and below, then the changes above) stay
    # the model's height and leave every label the frames CTC needs.
    directory, _, _ = tiny
    lines = load_lines(directory / "shards/train")[:32]
    charset = read_charset(directory / "models/crnn.charset.json")
    plain = LineBatches(lines, charset, 32, 8, steps=4)
    augmented = LineBatches(lines, charset, 32, 8, steps=4, augment_images=True)
    for i in range(4):
        (x, y), (x_plain, _) = augmented[i], plain[i]
        assert x.shape[:2] == (8, 32) and np.isfinite(x).all()
        assert x.shape != x_plain.shape or not np.array_equal(x, x_plain)
        assert all(y[row, 0] >= frames_needed(list(y[row, 1:][y[row, 1:] > 0])) for row in range(len(y)))


def test_the_full_profile_is_the_papers_crnn():
    from core.params import load_params
    from training.model import build_crnn

    config = load_params(ROOT / "params-full.yaml")
    _, model = build_crnn(config.model, 3877)
    convolutions = [layer for layer in model.layers if layer.name.startswith("conv")]
    assert [layer.filters for layer in convolutions] == [64, 128, 256, 256, 512, 512, 512]
    # The paper reports ~8.3M for 37 classes; ours less its 3,878-class output layer: 8.7M (batch norm included).
    assert 8.0e6 < model.count_params() - model.get_layer("logits").count_params() < 8.8e6


def test_the_full_profile_trains_on_its_backend_and_reads_the_same_on_the_others(tiny, tmp_path):
    """params-full.yaml's model and backend, two steps on the tiny shard on this CPU; the saved
    model then reads a batch identically under every installed backend."""
    full = yaml.safe_load((ROOT / "params-full.yaml").read_text(encoding="utf-8"))
    params = params_beside(tiny, tmp_path, backend=full["train"]["backend"], model_path=str(tmp_path / "full.keras"),
                           batch_size=2, epochs=1, steps_per_epoch=2, val_lines=4, augment=False)  # fmt: skip
    config = yaml.safe_load(params.read_text(encoding="utf-8"))
    params.write_text(yaml.safe_dump({**config, "model": full["model"]}, allow_unicode=True), encoding="utf-8")
    result = ocrpipe("train", "--params", params, cwd=tmp_path)
    assert f"backend {full['train']['backend']}" in result.stdout and "epoch 1/1" in result.stdout

    batch = np.random.default_rng(1).random((2, 32, 64, 1), dtype=np.float32)
    np.save(tmp_path / "batch.npy", batch)
    outputs = {}
    for backend in ("torch", "tensorflow"):
        script = (
            "import numpy as np, keras; "
            f"m = keras.saving.load_model({str(tmp_path / 'full.keras')!r}, safe_mode=True); "
            f"np.save({str(tmp_path / backend)!r}, keras.ops.convert_to_numpy(m(np.load({str(tmp_path / 'batch.npy')!r}))))"
        )
        subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, "KERAS_BACKEND": backend})
        outputs[backend] = np.load(tmp_path / f"{backend}.npy")
    assert outputs["torch"].shape == (2, 64 // 4, 3878)
    assert np.allclose(outputs["torch"], outputs["tensorflow"], atol=1e-5), np.abs(
        outputs["torch"] - outputs["tensorflow"]
    ).max()


def test_torchs_lstm_kernel_computes_what_keras_own_loop_does():
    """training/torch_lstm.py: the same outputs and the same gradients as Keras's CPU path
    (bidirectional, so the backward direction's flip is checked too)."""
    import importlib

    import keras
    import torch

    from core.params import Model
    from training import torch_lstm
    from training.model import build_crnn

    keras.utils.set_random_seed(4)
    train_model, _ = build_crnn(Model.model_validate({**TINY_MODEL, "head_units": 12}), 40)
    images = torch.rand(3, 32, 96, 1)
    weights = [variable.value for variable in train_model.trainable_weights]
    native_lstm = importlib.import_module("keras.src.backend").lstm
    assert native_lstm.__module__ == torch_lstm.__name__  # build_crnn installed it
    mix = torch.rand(3, 96 // 4, 41)  # a loss that weighs every frame and class differently

    def outputs_and_gradients():
        logits = train_model(images)
        return logits.detach(), torch.autograd.grad((logits * mix).sum(), weights)

    native = outputs_and_gradients()
    with torch_lstm.keras_own_lstm():
        assert importlib.import_module("keras.src.backend").lstm is not native_lstm
        loop = outputs_and_gradients()
    assert torch.allclose(native[0], loop[0], atol=1e-5), (native[0] - loop[0]).abs().max()
    for variable, a, b in zip(train_model.trainable_weights, native[1], loop[1]):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), (variable.path, (a - b).abs().max())
    assert any("bilstm" in variable.path for variable in train_model.trainable_weights)


def test_training_computes_what_the_saved_model_reads(tmp_path):
    """training/compute.py: the model built for training (channels first on torch; bfloat16
    where the CPU has it) holds the portable model's weights layer by layer and computes its
    logits: the same in float32, to bfloat16's precision in bfloat16. What training saves is
    the portable model (float32, channels last) holding the trained weights."""
    import keras

    from core.charset import write_charset
    from core.params import Model, load_params
    from stages.train import PortableModel
    from training.compute import PORTABLE, Compute
    from training.infer import Reader
    from training.model import build_crnn

    model = Model.model_validate({**TINY_MODEL, "head_units": 12})
    images = np.random.default_rng(2).random((3, 32, 96, 1), dtype=np.float32)
    keras.utils.set_random_seed(5)
    portable, _ = build_crnn(model, 40)
    expected = keras.ops.convert_to_numpy(portable(images))

    def logits_of(compute):
        train_model, inference = build_crnn(model, 40, compute)
        for layer in train_model.layers:
            if layer.weights:
                layer.set_weights(portable.get_layer(layer.name).get_weights())
        return train_model, inference, keras.ops.convert_to_numpy(keras.ops.cast(train_model(images), "float32"))

    nchw, inference, logits = logits_of(Compute("float32", channels_first=True))
    assert [layer.data_format for layer in nchw.layers if layer.name.startswith("conv")] == ["channels_first"] * 4
    assert np.allclose(logits, expected, atol=1e-5), np.abs(logits - expected).max()
    _, _, bf16 = logits_of(Compute("mixed_bfloat16", channels_first=True))
    assert 0 < np.abs(bf16 - expected).max() < 0.03 * np.abs(expected).max()
    assert (bf16.argmax(-1) == expected.argmax(-1)).mean() > 0.9

    params = load_params(write_params(tmp_path, model=model.model_dump(mode="json")))
    keras.utils.set_random_seed(6)  # the portable twin starts from other weights: the save must copy them
    PortableModel(params, inference, 40, Compute("float32", channels_first=True)).save(tmp_path / "saved.keras")
    write_charset("abcdefghijklmnopqrstuvwxyz0123456789.,;:", tmp_path / "saved.charset.json")
    saved = Reader.load(tmp_path / "saved.keras").model
    assert {layer.dtype_policy.name for layer in saved.layers if layer.weights} == {PORTABLE.dtype}
    assert {layer.data_format for layer in saved.layers if layer.name.startswith(("conv", "pool"))} == {"channels_last"}
    probabilities = keras.ops.convert_to_numpy(inference(images))
    assert np.allclose(keras.ops.convert_to_numpy(saved(images)), probabilities, atol=1e-5)


def test_bfloat16_is_chosen_only_where_the_cpu_computes_it(tmp_path):
    from training.compute import cpu_has_native_bf16, training_compute

    plain, amx = tmp_path / "plain", tmp_path / "amx"
    plain.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\n")
    amx.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert not cpu_has_native_bf16(plain) and cpu_has_native_bf16(amx)
    assert not cpu_has_native_bf16(tmp_path / "missing")
    native = cpu_has_native_bf16()
    assert training_compute("auto", "torch").dtype == ("mixed_bfloat16" if native else "float32")
    assert training_compute("auto", "tensorflow").dtype == "float32"  # bfloat16 measured on torch only
    assert training_compute("bfloat16", "jax").dtype == "mixed_bfloat16"  # asked for: given
    assert training_compute("float32", "torch").dtype == "float32"
    assert training_compute("auto", "torch").channels_first  # torch's own layout
    assert not training_compute("auto", "tensorflow").channels_first


FAULTS_OF_REPEATED_ALLOCATIONS = """
import resource, sys
import torch
sys.path.insert(0, sys.argv[1])
from training.compute import keep_freed_memory
kept = sys.argv[2] == "keep" and keep_freed_memory("torch")
for _ in range(10):  # the heap settles: the first few are faulted in either way
    torch.ones(2**24)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    torch.ones(2**24)  # 64 MB, like a batch's feature maps, freed at once
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_freed_memory_is_reused_instead_of_faulted_in_again():
    """A training step frees and reallocates the same large tensors; glibc's default hands
    them back to the kernel and faults them in again every time (training/compute.py)."""
    plain = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD"))}
    faults = {}
    for mode in ("default", "keep"):
        result = subprocess.run(
            [sys.executable, "-c", FAULTS_OF_REPEATED_ALLOCATIONS, str(ROOT), mode],
            capture_output=True, text=True, check=True, env=plain,
        )  # fmt: skip
        kept, faults[mode] = result.stdout.split()
        assert kept == str(mode == "keep"), result.stdout
    # 4 KB pages: 327,680 faults against none (huge pages or larger pages make both fewer)
    assert int(faults["default"]) > 0 and int(faults["keep"]) < int(faults["default"]) / 5, faults


def own_lines_from(tiny, directory, count=6):
    """A path<TAB>label file of real image files (extracted from the tiny test split)."""
    from core.shards import extract

    shard = next((tiny[0] / "shards" / "test").glob("*.tar"))
    extract(shard, directory)
    listing = directory / "labels.tsv"
    listing.write_text("".join(listing.read_text(encoding="utf-8").splitlines(keepends=True)[:count]), encoding="utf-8")
    return listing


def test_own_lines_are_mixed_in_at_their_share(tiny, tmp_path):
    from core.params import load_params
    from stages.train import training_lines
    from training.data import load_lines

    listing = own_lines_from(tiny, tmp_path / "own")
    params = load_params(params_beside(tiny, tmp_path, own_lines=str(listing), own_share=0.25, model_path="m.keras"))
    lines = training_lines(params)
    synthetic = len(load_lines(params.split_dir("train")))
    own = [line for line in lines if line.path.parent == listing.parent]
    assert len(lines) == synthetic + len(own) and len(own) == 6 * round(0.25 / 0.75 * synthetic / 6)
    result = ocrpipe("train", "--params", tmp_path / "params.yaml", cwd=tmp_path)
    assert "own lines: 6 from" in result.stdout


def test_own_lines_with_a_missing_image_or_a_foreign_character_name_file_and_line(tiny, tmp_path):
    listing = own_lines_from(tiny, tmp_path / "own")
    rows = listing.read_text(encoding="utf-8").splitlines()
    params = params_beside(tiny, tmp_path, own_lines=str(listing), own_share=0.5, model_path="m.keras")

    listing.write_text("\n".join([rows[0], "missing.png\t123", *rows[1:]]) + "\n", encoding="utf-8")
    result = ocrpipe("train", "--params", params, cwd=tmp_path, check=False)
    assert result.returncode == 2 and f"{listing}:2: missing.png: no such image" in result.stderr

    path, _ = rows[2].split("\t", 1)
    listing.write_text("\n".join([rows[0], rows[1], f"{path}\t价格 €5"]) + "\n", encoding="utf-8")
    result = ocrpipe("train", "--params", params, cwd=tmp_path, check=False)
    assert result.returncode == 2 and f"{listing}:3: label '价格 €5' has '€'" in result.stderr
    assert "charset.extra" in result.stderr and "Traceback" not in result.stderr


def test_a_backend_that_is_not_installed_is_one_line_naming_the_field_and_the_package(tiny, tmp_path):
    import importlib.util

    if importlib.util.find_spec("jax") is not None:
        pytest.skip("jax is installed here")
    directory, params, _ = tiny
    config = yaml.safe_load(params.read_text(encoding="utf-8"))
    config["read"] = {"backend": "jax"}
    changed = tmp_path / "params.yaml"
    changed.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    image = next((directory / "shards").rglob("*.tar"))
    result = subprocess.run(
        [*OCRPIPE, "read", "--params", changed, "--model", directory / "models" / "crnn.keras", image],
        cwd=directory, capture_output=True, text=True, check=False,
        env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr.strip()
        == "error: params read.backend: Keras backend 'jax' is not installed here (pip install jax)"
    )


def test_every_shipped_params_file_names_an_installed_backend():
    import importlib.util

    from core.backend import BACKEND_PACKAGES
    from core.params import load_params

    for name in ("params.yaml", "params-base.yaml", "params-polish.yaml", "params-full.yaml"):
        params = load_params(ROOT / name)
        for backend in (params.train.backend, params.read.backend):
            assert importlib.util.find_spec(BACKEND_PACKAGES[backend][0]) is not None, (name, backend)
