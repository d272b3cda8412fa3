import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
OCRPIPE = [sys.executable, "-m", "ocrpipe"]
# dvc.yaml's commands call `ocrpipe`, `dvc` and `prefect` by name: the ones beside this Python.
BIN = str(Path(sys.executable).parent)

TINY_MODEL = {
    "conv": [
        {"filters": 8, "pool": "2x2"},
        {"filters": 16, "pool": "2x2"},
        {"filters": 16, "pool": "2x1"},
        {"filters": 16, "pool": "2x1"},
    ],
    "lstm_units": 16,
    "lstm_layers": 2,
    "head_units": 0,
    "dropout": 0.0,
}
# A pipeline that runs end to end in well under a minute on 2 cores.
TINY_PIPELINE = {
    "seed": 3,
    "shards": {"images_per_shard": 60, "splits": {"train": 2, "val": 1, "test": 1}},
    "model": TINY_MODEL,
    "train": {
        "backend": "torch",
        "init": "scratch",  # the tiny model has the base model's layers at other sizes
        "learning_rate": 0.003,  # a from-scratch rate: params.yaml's is for fine-tuning
        "warmup_steps": 100,
        "batch_size": 8,
        "epochs": 2,
        "steps_per_epoch": 3,
        "val_lines": 20,
        "max_minutes": 0,
    },
    "gate": {"seq_acc": 0, "char_acc": 0, "slices": {}},
}


def write_params(directory: Path, **sections) -> Path:
    """A params.yaml in directory: the project's, with sections merged over it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["fonts"]["manifest"] = str(ROOT / "fonts" / "manifest.yaml")
    for section, values in sections.items():
        if isinstance(values, dict) and isinstance(params.get(section), dict):
            params[section].update(values)
        else:
            params[section] = values
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


def tool_env(**extra) -> dict:
    """The environment for the project's commands: this venv first on PATH, quiet TensorFlow."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def run(*args, cwd, check=True, env=None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        list(map(str, args)), cwd=cwd, capture_output=True, text=True, env=env or tool_env(), check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


# dvc.yaml's train stage depends on the shipped base model (the main job's train.init).
BASE_MODEL = ("models/base/crnn-base.keras", "models/base/crnn-base.charset.json")


def make_project(directory: Path, **sections) -> Path:
    """A checkout of the project in directory (code, fonts, dvc.yaml, prefect.yaml) with a
    params.yaml of TINY_PIPELINE and sections merged over it: a git repository with DVC
    initialised, a local DVC remote beside it, and everything committed."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("core", "synth", "training", "stages", "flows", "fonts", "data/external", "data/own"):
        shutil.copytree(ROOT / name, directory / name, ignore=ignore)
    for name in ("dvc.yaml", "prefect.yaml", ".dvcignore", "ocrpipe.py", *BASE_MODEL):
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, directory / name)
    merged = {k: {**v, **sections.get(k, {})} if isinstance(v, dict) else v for k, v in TINY_PIPELINE.items()}
    params = write_params(directory, **{**sections, **merged})
    params.write_text(params.read_text().replace(str(ROOT / "fonts" / "manifest.yaml"), "fonts/manifest.yaml"))
    run("git", "init", "--quiet", "--initial-branch", "main", cwd=directory)
    run("git", "config", "user.name", "ocrpipe tests", cwd=directory)
    run("git", "config", "user.email", "tests@ocrpipe.invalid", cwd=directory)
    run("dvc", "init", "--quiet", cwd=directory)
    run("dvc", "remote", "add", "--default", "local", directory.parent / f"{directory.name}-remote", cwd=directory)
    run("git", "add", "--all", cwd=directory)
    run("git", "commit", "--quiet", "-m", "project", cwd=directory)
    return directory


def ocrpipe(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([*OCRPIPE, *map(str, args)], cwd=cwd or ROOT, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"ocrpipe {' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def renderer():
    from core.params import Params
    from synth.draw import Renderer

    return Renderer(Params())


@pytest.fixture(scope="session")
def small_shard(tmp_path_factory) -> Path:
    """A 60-image shard rendered once through the real command."""
    path = tmp_path_factory.mktemp("shard") / "small.tar"
    ocrpipe("render", "--out", path, "--count", 60, "--seed", 11)
    return path
