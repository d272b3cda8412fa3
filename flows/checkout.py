"""The checkout the flows work in: entering it from a pool's process, and DVC's bookkeeping
for work the flows do themselves (which stages of dvc.yaml are stale and why; recording a
stage the flow ran, as `dvc commit`, so `dvc repro` and the flows agree; pushing).
The pipeline holds the checkout (DVC's lock) meanwhile: see core/locks.py. Plain functions,
not tasks: the flows log what they found (a task each would only add "Finished" lines)."""

from __future__ import annotations

import os
from pathlib import Path

from core.backend import use_backend
from core.locks import dvc_repo
from core.params import Params, load_params


def enter(root: Path, backend_field: str | None = None) -> Params:
    """In a task's own process: work from the checkout (paths as `dvc repro` sees and writes
    them), read its params, and choose the Keras backend the field names (train.backend)."""
    os.chdir(root)
    params = load_params("params.yaml")
    if backend_field:
        section, _ = backend_field.split(".")
        use_backend(getattr(params, section).backend, backend_field)
    return params


def why_stale(root: Path, stage: str) -> str:
    """What changed since dvc.lock for the stage (as `dvc status STAGE`): '' when up to date."""
    with dvc_repo(root) as repo:
        status = repo.status(targets=[stage])
    return "; ".join(describe_change(entry) for entries in status.values() for entry in entries)


def describe_change(entry: str | dict, shown: int = 3) -> str:
    """One entry of `dvc status` in words: 'changed deps: stages/train.py modified, train.epochs modified'."""
    if isinstance(entry, str):  # 'changed command', 'always changed'
        return entry
    parts = []
    for kind, changes in entry.items():
        items = []
        for path, how in changes.items():  # params come as {params.yaml: {train.epochs: modified}}
            items += [f"{key} {state}" for key, state in how.items()] if isinstance(how, dict) else [f"{path} {how}"]
        more = f" and {len(items) - shown} more" if len(items) > shown else ""
        parts.append(f"{kind}: {', '.join(items[:shown])}{more}")
    return "; ".join(parts)


def record(root: Path, stage: str) -> None:
    """Write the stage's deps, params and outs into dvc.lock and its outs into the cache."""
    with dvc_repo(root) as repo:
        repo.commit(stage, force=True)


def push(root: Path) -> str:
    """Send what dvc.lock pins to the default remote; says what went where."""
    with dvc_repo(root) as repo:
        remote = repo.config["core"].get("remote")
        if not remote:
            return "no DVC remote configured: nothing pushed"
        pushed = repo.push()
    return f"pushed {pushed} file(s) to DVC remote {remote!r}" if pushed else f"DVC remote {remote!r} is up to date"
