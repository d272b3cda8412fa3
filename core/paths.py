"""Every path the stages agree on, in one place: where things are, not what they hold.

Paths that params set (shards.out_dir, train.model_path, ...) stay in params; the split
folders come from Params.split_dir. Relative paths here are relative to the checkout.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FONT_MANIFEST = PROJECT_ROOT / "fonts" / "manifest.yaml"
DEFAULT_PARAMS = Path("params.yaml")

# What the evaluate and gate stages write (dvc.yaml names the same files).
METRICS = Path("metrics/eval.json")  # the test split
# Lines from outside the project's renderer (data/external/README.md), read beside the test split.
EXTERNAL = Path("data/external/labels.tsv")
EXTERNAL_METRICS = Path("metrics/external.json")
VERDICT = Path("metrics/gate.json")

SPLIT_CHARSET = "charset.json"  # beside a split's shards: the charset they were rendered with


def charset_path(model_path: Path | str) -> Path:
    """The charset travels beside the model: models/crnn.keras -> models/crnn.charset.json."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".charset.json")


def init_record(model_path: Path | str) -> Path:
    """Where training says what it started from: models/crnn.keras -> models/crnn.init.json."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".init.json")


def errors_picture(metrics_path: Path | str) -> Path:
    """The error sheet written beside a metrics file: metrics/eval.json -> metrics/eval.errors.png."""
    metrics_path = Path(metrics_path)
    return metrics_path.with_name(metrics_path.stem + ".errors.png")


def trdg_asset(relative: str) -> Path:
    """Path of a file shipped inside the trdg package (fonts, dictionaries, images).

    Found without importing trdg, whose __init__ pulls in OpenCV and prints to stdout.
    """
    spec = importlib.util.find_spec("trdg")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("trdg is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / relative
