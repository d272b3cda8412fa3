"""params.yaml, validated on load: a wrong value is an error naming the field.

One class per section; each stage reads only its sections (dvc.yaml lists them per stage).
Two contracts live here because a section's validation needs them: the slices every metric
is reported on (SLICES, gate.slices) and the width of one CTC frame (PIXELS_PER_STEP, which
the model's two 2x2 pools make).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import InputError
from core.paths import DEFAULT_PARAMS, FONT_MANIFEST

# A version (`crnn@v0.3.0`, `v0.3.0`) or a stage (`prod`) of the model registry (core/registry.py).
REGISTRY_REFERENCE = re.compile(r"^(?:crnn@)?v\d+\.\d+\.\d+$|^[a-z][a-z0-9_-]*$")

Slice = Literal["digits", "en", "zh", "mixed"]
SLICES: tuple[str, ...] = get_args(Slice)  # the order every table shows them in
# Width in pixels (at the model height) of one CTC frame: the model's two 2x2 pools.
PIXELS_PER_STEP = 4


class ParamsError(InputError):
    """A params file that cannot be used; the message names the file and the field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(Strict):
    """An inclusive [min, max] range that samples are drawn from."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class IntRange(Range):
    min: int
    max: int


class Charset(Strict):
    # gb2312-1: the 3,755 level-1 hanzi; gb2312: both levels (6,763).
    hanzi: Literal["gb2312-1", "gb2312"] = "gb2312-1"
    # Extra characters beyond hanzi, printable ASCII and common CJK punctuation.
    extra: str = ""


class Weights(Strict):
    """Relative weights: they need not sum to 1, but one must be above 0."""

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("all weights are 0")
        return self


class Mix(Weights):
    """Relative weights of the text sources."""

    digits: float = Field(0.25, ge=0)
    en: float = Field(0.25, ge=0)
    zh: float = Field(0.25, ge=0)
    mixed: float = Field(0.25, ge=0)
    custom: float = Field(0.0, ge=0)


class Corpus(Strict):
    mix: Mix = Mix()
    digits_length: IntRange = IntRange(min=1, max=24)
    # Characters per en/zh/mixed line (mixed lines are cut to the max; digits use digits_length).
    line_length: IntRange = IntRange(min=1, max=40)
    # Words are drawn with probability ∝ frequency ** power: 1 follows the word list, 0 is uniform.
    en_frequency_power: float = Field(0.5, ge=0, le=1)
    zh_frequency_power: float = Field(0.5, ge=0, le=1)
    # Share of English words taken from trdg's dictionary (rare words) instead of wordfreq's list.
    en_dictionary_share: float = Field(0.15, ge=0, le=1)
    # Share of English lines that are the short lines of receipts, forms, envelopes and signs
    # (addresses, items and prices, measures, hours, codes) instead of sentences; 0 draws none.
    en_field_share: float = Field(0.0, ge=0, le=1)
    # Share of Chinese words replaced by 1-2 hanzi drawn uniformly from the charset: a floor
    # under the frequency of rare characters, which frequency-weighted words almost never show.
    zh_rare_share: float = Field(0.1, ge=0, le=1)
    # A UTF-8 text file, one label per line, drawn with weight mix.custom.
    custom_file: Path | None = None

    @model_validator(mode="after")
    def _custom_needs_file(self) -> Corpus:
        if self.mix.custom > 0 and self.custom_file is None:
            raise ValueError("mix.custom > 0 needs custom_file")
        if self.digits_length.min < 1 or self.line_length.min < 1:
            raise ValueError("lengths start at 1")
        return self


class Fonts(Strict):
    manifest: Path = FONT_MANIFEST
    exclude: list[str] = []


class Backgrounds(Weights):
    """Relative weights of the background kinds."""

    plain: float = Field(0.25, ge=0)
    gaussian: float = Field(0.3, ge=0)
    quasicrystal: float = Field(0.15, ge=0)
    image: float = Field(0.3, ge=0)
    gradient: float = Field(0.0, ge=0)
    texture: float = Field(0.0, ge=0)


class Render(Strict):
    height: int = Field(32, ge=16, le=256)
    image_format: Literal["png", "jpg"] = "png"
    # Pixel sizes the text is drawn at (the font's line height), one drawn uniformly per
    # line; the finished line is then resampled to `height`, so small text arrives soft and
    # large text with its own aliasing. Empty: draw at `height`.
    text_sizes: list[int] = []
    # Margins, spacing, distortion and blur are in pixels at 32 px text and scale with the size.
    # Vertical margins leave the text 1 - (top + bottom) / height of the line.
    margin_vertical: IntRange = IntRange(min=0, max=3)
    margin_horizontal: IntRange = IntRange(min=0, max=8)
    # Extra pixels between characters; negative values make them touch or overlap.
    character_spacing: IntRange = IntRange(min=0, max=2)
    # Print the fonts lack: text sheared like an oblique face (mostly leaning right, as italics
    # do) and condensed or widened, as narrow and extended faces are.
    slant_degrees: float = Field(14.0, ge=0, le=30)
    slant_probability: float = Field(0.0, ge=0, le=1)
    width_scale: Range = Range(min=0.7, max=1.3)
    width_scale_probability: float = Field(0.0, ge=0, le=1)
    skew_degrees: float = Field(2.0, ge=0, le=15)  # the text alone, on a level background
    skew_probability: float = Field(0.5, ge=0, le=1)
    rotate_degrees: float = Field(2.0, ge=0, le=15)  # the whole line with its background, as a tilted crop
    rotate_probability: float = Field(0.0, ge=0, le=1)
    # Light perspective: corners pulled in by up to this share of the line's height.
    perspective_strength: float = Field(0.15, ge=0, le=0.5)
    perspective_probability: float = Field(0.0, ge=0, le=1)
    blur_sigma: float = Field(1.0, ge=0, le=5)
    blur_probability: float = Field(0.3, ge=0, le=1)
    distortion_probability: float = Field(0.15, ge=0, le=1)
    # Peak vertical offset of the sine/cosine/random distortion, in pixels at 32 px.
    distortion_amplitude: float = Field(2.0, ge=0, le=8)
    invert_probability: float = Field(0.2, ge=0, le=1)
    # Fraction of samples drawn in a colour other than near-black.
    colour_probability: float = Field(0.3, ge=0, le=1)
    # Least difference between text and background grey level (0-255).
    min_contrast: int = Field(70, ge=10, le=200)
    # Lines drawn faintly: text only low_contrast.min-max grey levels from its background.
    low_contrast_probability: float = Field(0.0, ge=0, le=1)
    low_contrast: IntRange = IntRange(min=35, max=70)
    # An underline below the text, or a table rule along the top or bottom edge.
    rule_probability: float = Field(0.0, ge=0, le=1)
    # JPEG compression of the finished line at a random quality.
    jpeg_probability: float = Field(0.0, ge=0, le=1)
    jpeg_quality: IntRange = IntRange(min=20, max=90)
    # Type set off its background, as on signs, screens and packaging: a drop shadow (the ink
    # again beneath it, dark and partly transparent, offset by shadow_offset px) or an outline
    # (a stroke of outline_width px around the glyphs, in the text's colour, which is faux
    # bold, or a halo on the paper's side). Pixels at 32 px text; half the effects are each.
    effect_probability: float = Field(0.0, ge=0, le=1)
    shadow_offset: Range = Range(min=0.5, max=3.0)
    outline_width: Range = Range(min=0.5, max=2.5)
    backgrounds: Backgrounds = Backgrounds()

    @model_validator(mode="after")
    def _sizes_in_range(self) -> Render:
        if any(not 8 <= size <= 256 for size in self.text_sizes):
            raise ValueError("text_sizes must lie between 8 and 256 px")
        if self.jpeg_quality.min < 1 or self.jpeg_quality.max > 100:
            raise ValueError("jpeg_quality runs from 1 to 100")
        if not 0.25 <= self.width_scale.min <= self.width_scale.max <= 4:
            raise ValueError("width_scale must lie between 0.25 and 4")
        for name in ("shadow_offset", "outline_width"):
            if not 0 < getattr(self, name).min <= getattr(self, name).max <= 8:
                raise ValueError(f"{name} must lie between 0 (excluded) and 8 px")
        return self


class Splits(Strict):
    """Shards per split."""

    train: int = Field(8, ge=0)
    val: int = Field(1, ge=0)
    test: int = Field(1, ge=0)


class Rounds(Strict):
    """Which seeds each split draws its lines from: round 0 as ever, each later round lines of
    its own. The nightly pipeline advances train's, so each night's model learns from lines it
    has not seen while val and test stay put; advancing test's draws a new test split."""

    train: int = Field(0, ge=0)
    val: int = Field(0, ge=0)
    test: int = Field(0, ge=0)


class Shards(Strict):
    out_dir: Path = Path("data/shards")
    images_per_shard: int = Field(1000, ge=1)
    splits: Splits = Splits()
    rounds: Rounds = Rounds()
    # Processes rendering shards in parallel; 0 means one per core.
    jobs: int = Field(0, ge=0)
    # Where the Prefect render flow runs its tasks: null, a process pool of `jobs`; "local", a
    # Dask LocalCluster of `jobs` worker processes; "tcp://HOST:8786", that Dask scheduler.
    dask: str | None = None

    @field_validator("dask")
    @classmethod
    def _dask_address(cls, value: str | None) -> str | None:
        return check_dask_address(value)


def check_dask_address(value: str | None) -> str | None:
    """null, 'local' or a scheduler address (shards.dask, `ocrpipe pipeline --dask`)."""
    if value is not None and value != "local" and "://" not in value:
        raise ValueError(f"expected null, 'local' or a scheduler address like tcp://host:8786, got {value!r}")
    return value


class ConvBlock(Strict):
    filters: int = Field(ge=1)
    kernel: int = Field(3, ge=1, le=7)
    # (2,2) halves height and width; (2,1) halves only the height so the width survives as time.
    pool: Literal["2x2", "2x1", "none"] = "none"


class Model(Strict):
    """CRNN sizes. params.yaml and params-base.yaml set smaller CPU profiles (16-64 filters);
    params-full.yaml holds the paper's (~8.3M parameters)."""

    height: int = Field(32, ge=16, le=128)
    conv: list[ConvBlock] = [
        ConvBlock(filters=32, pool="2x2"),
        ConvBlock(filters=64, pool="2x2"),
        ConvBlock(filters=96, pool="2x1"),
        ConvBlock(filters=96, pool="2x1"),
    ]
    lstm_units: int = Field(96, ge=1)
    lstm_layers: int = Field(2, ge=1, le=4)
    # Width of a linear bottleneck in front of the output layer (0: none).
    head_units: int = Field(0, ge=0)
    dropout: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _width_pooled_twice(self) -> Model:
        if 2 ** sum(block.pool == "2x2" for block in self.conv) != PIXELS_PER_STEP:
            raise ValueError(f"conv needs exactly two 2x2 pools (one time step per {PIXELS_PER_STEP} px of width)")
        if self.height % 2 ** sum(block.pool != "none" for block in self.conv):
            raise ValueError("height must divide by 2 for every pool")
        return self


class Train(Strict):
    # Keras backend for `ocrpipe train` when KERAS_BACKEND is not set: tensorflow, the stack's
    # own, unless params say otherwise; the shipped profiles say torch, which trains ~1.7x
    # faster on CPU (its CTC is cheaper over 3,878 classes).
    backend: Literal["tensorflow", "torch", "jax"] = "tensorflow"
    # The layers' arithmetic while training (saved models are float32 either way): bfloat16
    # over float32 weights, or float32. auto: bfloat16 on torch where the CPU computes it
    # natively (AMX or AVX512-BF16), else float32 (training/compute.py).
    precision: Literal["auto", "float32", "bfloat16"] = "auto"
    # Where the weights start: `scratch`; a saved model (PATH.keras, its charset beside it);
    # or a registered version or stage (`prod`, `crnn@v0.3.0`). Its layers are copied and
    # its output rows mapped through the two charsets (training/warm_start.py). A list is
    # tried in order: [prod, models/base/crnn-base.keras] starts from prod once there is one.
    init: list[str] = ["scratch"]
    # An init model narrower than the model here (fewer filters, LSTM cells or head units;
    # the same layers) is widened into it, computing what it computed (training/grow.py).
    # false: such a mismatch is an error naming the layer and both shapes.
    grow: bool = False
    # Your own labelled lines (a path<TAB>label file or a folder of {id}_{label} images; keep
    # them under data/own/, which the DVC stage depends on), mixed into training so that
    # this share of the lines seen comes from them.
    own_lines: Path | None = None
    own_share: float = Field(0.0, ge=0, lt=1)
    model_path: Path = Path("models/crnn.keras")
    live_dir: Path = Path("dvclive")  # DVCLive curves
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(3e-3, gt=0, le=1)
    warmup_steps: int = Field(100, ge=0)
    epochs: int = Field(30, ge=1)
    steps_per_epoch: int = Field(100, ge=1)
    # Validation lines scored every epoch (sequence and character accuracy).
    val_lines: int = Field(500, ge=1)
    patience: int = Field(5, ge=1)
    # Early stopping watches only from this epoch on: CTC's first steps sit on a plateau
    # (every frame blank, accuracy 0) that says nothing about convergence.
    patience_from_epoch: int = Field(10, ge=0)
    # Wall-clock budget: training stops after the epoch that crosses it (0: none).
    max_minutes: float = Field(0, ge=0)
    max_width: int = Field(800, ge=32)
    augment: bool = True
    seed: int = Field(0, ge=0)

    @field_validator("init", mode="before")
    @classmethod
    def _init_entries(cls, value):
        entries = [value] if isinstance(value, str) else value
        if not isinstance(entries, list) or not entries:
            raise ValueError("expected scratch, a model file PATH.keras, a registry version or stage, or a list")
        for entry in entries:
            if not isinstance(entry, str) or not (
                entry == "scratch" or entry.endswith(".keras") or REGISTRY_REFERENCE.match(entry)
            ):
                raise ValueError(
                    f"{entry!r}: expected scratch, a model file PATH.keras, or a registry version or stage (prod, crnn@v0.3.0)"
                )
        if "scratch" in entries[:-1]:
            raise ValueError("scratch can only come last: nothing after it is tried")
        return entries

    @model_validator(mode="after")
    def _own_lines_need_a_share(self) -> Train:
        if (self.own_lines is None) != (self.own_share == 0):
            raise ValueError("own_lines and own_share > 0 go together")
        return self


class Read(Strict):
    # Keras backend for `ocrpipe read` and `evaluate` when KERAS_BACKEND is not set: on CPU,
    # tensorflow's graph mode reads ~1.9x faster than torch's eager LSTM loop.
    backend: Literal["tensorflow", "torch", "jax"] = "tensorflow"
    batch_size: int = Field(32, ge=1)


class Thresholds(Strict):
    seq_acc: float = Field(0, ge=0, le=1)
    char_acc: float = Field(0, ge=0, le=1)


class Gate(Thresholds):
    """What a model must reach on the test split to be registered (stages/gate.py, stages/register.py)."""

    slices: dict[Slice, Thresholds] = {}
    # Promotion to prod compares this metric with the champion's on the same test split.
    compare_on: Literal["seq_acc", "char_acc"] = "seq_acc"


class Params(Strict):
    seed: int = Field(20261121, ge=0)
    charset: Charset = Charset()
    corpus: Corpus = Corpus()
    fonts: Fonts = Fonts()
    render: Render = Render()
    shards: Shards = Shards()
    model: Model = Model()
    train: Train = Train()
    read: Read = Read()
    gate: Gate = Gate()

    def split_dir(self, split: str) -> Path:
        """The folder of a split's shards (and their charset.json)."""
        return self.shards.out_dir / split

    def training_fingerprint(self) -> str:
        """A digest of what a training run depends on in params: model, train, charset."""
        return hashlib.sha256(self.model_dump_json(include={"model", "train", "charset"}).encode()).hexdigest()

    def rendering_fingerprint(self) -> str:
        """A digest of everything that changes what a shard holds, not where it goes.

        Files are hashed by content, so the digest is the same in every checkout.
        """
        relevant = self.model_dump(
            mode="json",
            include={"charset": True, "corpus": True, "fonts": {"exclude"}, "render": True},
            exclude={"corpus": {"custom_file"}},
        )
        for name, path in (("manifest", self.fonts.manifest), ("custom_file", self.corpus.custom_file)):
            relevant[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path and path.exists() else None
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def load_params(path: Path | str | None = None) -> Params:
    """Read and validate a params file; relative paths inside it resolve against its folder.

    A file may start from another (`extends: params.yaml`, relative to its folder): each
    section it names replaces that section's fields one by one, each field's value whole (a
    range or a mapping of weights too: keys it leaves out take the defaults, as in any file);
    the sections it leaves out are the other file's.
    """
    path = Path(path) if path is not None else DEFAULT_PARAMS
    if not path.exists():
        if path == DEFAULT_PARAMS:
            return Params()
        raise ParamsError(f"{path}: no such params file")
    raw = _read_raw(path, seen=())
    try:
        params = Params.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise ParamsError(f"{path}: {problems}") from None
    return _resolve_paths(params, path.parent)


def _read_raw(path: Path, seen: tuple[Path, ...]) -> dict:
    """The file's mapping, merged over the one it extends (if any)."""
    if path.resolve() in seen:
        raise ParamsError(f"{path}: extends itself (through {' -> '.join(p.name for p in seen)})")
    if not path.exists():
        raise ParamsError(f"{seen[-1]}: extends: {path}: no such params file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ParamsError(f"{path}: extends: expected a file name, got {parent!r}")
    merged = _read_raw(path.parent / parent, seen=(*seen, path.resolve()))
    for section, values in raw.items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section] = {**merged[section], **values}
        else:
            merged[section] = values
    return merged


def _resolve_paths(params: Params, base: Path) -> Params:
    def resolve(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    return params.model_copy(
        update={
            "corpus": params.corpus.model_copy(update={"custom_file": resolve(params.corpus.custom_file)}),
            "fonts": params.fonts.model_copy(update={"manifest": resolve(params.fonts.manifest)}),
            "shards": params.shards.model_copy(update={"out_dir": resolve(params.shards.out_dir)}),
            "train": params.train.model_copy(
                update={
                    **{name: resolve(getattr(params.train, name)) for name in ("model_path", "live_dir", "own_lines")},
                    "init": [str(resolve(Path(e))) if e.endswith(".keras") else e for e in params.train.init],
                }
            ),
        }
    )
