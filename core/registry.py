"""Reading the model registry: GTO tags in git name versions (`crnn@v0.3.0`) and stages
(`prod`); DVC holds each version's model. Registering is stages/register.py; reading is
shared with training, which may start from a registered version (train.init)."""

from __future__ import annotations

import hashlib
import json
import logging.config
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from core.paths import EXTERNAL_METRICS, METRICS, charset_path

ARTIFACT = "crnn"  # the name under `artifacts:` in dvc.yaml and in the tags
PROD = "prod"


class RegistryError(InputError):
    """The registry cannot act on this workspace (not reproduced, unknown version, no git)."""


def try_git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)


def git(root: Path, *args: str) -> str:
    result = try_git(root, *args)
    if result.returncode:
        raise RegistryError(f"git {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def read_at(root: Path, commit: str, path: Path | str) -> str | None:
    """A file as committed at `commit` (None where that commit lacks it)."""
    result = try_git(root, "show", f"{commit}:{path}")
    return result.stdout if result.returncode == 0 else None


def metrics_at(root: Path, commit: str, path: Path = METRICS) -> dict | None:
    text = read_at(root, commit, path)
    return json.loads(text) if text else None


def gto_api():
    """gto.api, imported without the logging setup gto does on import.

    Importing gto calls logging.config.dictConfig, which flushes and closes every handler of
    the process while it holds logging's lock. Inside a Prefect run one of them is Prefect's
    API log handler: its flush waits for Prefect's event-loop thread, which may be waiting for
    that same lock, and the run hangs for good (seen at the register step, under load). gto's
    loggers need no setup of their own: their records go to the root logger like any other.
    """
    if "gto.api" not in sys.modules:
        configure, logging.config.dictConfig = logging.config.dictConfig, lambda config: None
        try:
            import gto.api  # noqa: F401  (cached in sys.modules)
        finally:
            logging.config.dictConfig = configure
    return sys.modules["gto.api"]


def gto_versions(root: Path) -> list[dict]:
    api = gto_api()
    from gto.exceptions import ArtifactNotFound, NoRepo

    try:
        return api.show(str(root), ARTIFACT)
    except (ArtifactNotFound, NoRepo):  # nothing registered yet, or not a git repository
        return []


def stages_of(version: dict) -> list[str]:
    return sorted({stage["stage"] for stage in version["stages"]})


def row_of(root: Path, version: dict) -> dict:
    """One registered version as `ocrpipe models` shows it: version, stages, commit, created_at, metrics."""
    commit = version["commit_hexsha"]
    return {
        "version": version["version"],
        "stages": stages_of(version),
        "commit": commit,
        "created_at": str(version["created_at"]),
        "metrics": metrics_at(root, commit),
        "external": metrics_at(root, commit, EXTERNAL_METRICS),
    }


def versions(root: Path) -> list[dict]:
    """Registered versions, newest first, with their metrics."""
    return [row_of(Path(root), v) for v in gto_versions(Path(root))]


def find(root: Path, name: str) -> dict:
    """GTO's record of a version by `v1.2.0`, `crnn@v1.2.0` or stage (`prod`); no metrics read."""
    wanted = name.split("@", 1)[-1]
    for version in gto_versions(Path(root)):
        if wanted == version["version"] or wanted in stages_of(version):
            return version
    raise RegistryError(f"{name}: no such version or stage of {ARTIFACT} (see `ocrpipe models`)")


def resolve(root: Path, name: str) -> dict:
    """A version by `v1.2.0`, `crnn@v1.2.0` or stage (`prod`), with its metrics."""
    return row_of(Path(root), find(root, name))


def fetch_model(root: Path, commit: str, model: Path, target: Path) -> Path:
    """The model file of `commit` and its charset, through DVC (cache, else remote), written at target."""
    import dvc.api

    for source, out in ((model, target), (charset_path(model), charset_path(target))):
        with dvc.api.open(str(source), repo=str(root), rev=commit, mode="rb") as file:
            out.write_bytes(file.read())
    return target


@dataclass(frozen=True)
class Start:
    """Where training starts, as train.init resolves today: a model file, or a registered
    version (the model file of its commit, fetched through DVC). None stands for scratch."""

    named: str  # the train.init entry that resolved
    path: Path | None = None  # a model file
    version: str | None = None  # a registered version
    commit: str | None = None


def resolve_start(entries: list[str], root: Path) -> Start | None:
    """The first train.init entry that exists: a file, or a version or stage of the registry
    in the git repository at root. None for `scratch`; an error naming every entry tried."""
    missing = []
    for entry in entries:
        if entry == "scratch":
            return None
        if entry.endswith(".keras"):
            if Path(entry).is_file():
                return Start(entry, path=Path(entry))
            missing.append(f"{entry} (no such file)")
            continue
        try:
            version = find(root, entry)
        except RegistryError:
            missing.append(f"{entry} (not in the registry of {root})")
            continue
        return Start(entry, version=version["version"], commit=version["commit_hexsha"])
    raise RegistryError(f"train.init: nothing to start from: {'; '.join(missing)}")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
