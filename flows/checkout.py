"""The checkout the flows work in: entering it from a pool's process, and DVC's bookkeeping
for work the flows do themselves (which stages of dvc.yaml are stale and why; recording a
stage the flow ran, as `dvc commit`, so `dvc repro` and the flows agree; pushing).
The pipeline holds the checkout (DVC's lock) meanwhile: see core/locks.py. Plain functions,
not tasks: the flows log what they found (a task each would only add "Finished" lines)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

from core.backend import use_backend
from core.errors import InputError
from core.files import AtomicFile
from core.locks import dvc_repo
from core.params import Params, load_params
from core.paths import init_record
from core.registry import RegistryError, resolve_start, try_git


def enter(root: Path, backend_field: str | None = None) -> Params:
    """In a task's own process: work from the checkout (paths as `dvc repro` sees and writes
    them), read its params, and choose the Keras backend the field names (train.backend)."""
    os.chdir(root)
    params = load_params("params.yaml")
    if backend_field:
        section, _ = backend_field.split(".")
        use_backend(getattr(params, section).backend, backend_field)
    return params


# shards.rounds.train's number, in flow style (`  rounds: {train: 3, val: 0, test: 0}  # ...`) or
# block style (`  rounds:` then `    train: 3`), and the shards section's first line
ROUNDS_TRAIN = re.compile(
    r"^(  rounds:[ \t]*\{[^}\n]*\btrain:[ \t]*|  rounds:[ \t]*(?:#.*)?\n(?:    .*\n)*?    train:[ \t]*)(\d+)",
    re.MULTILINE,
)
SHARDS_LINE = re.compile(r"^shards:.*\n", re.MULTILINE)


def next_training_round(root: Path) -> str:
    """Advance shards.rounds.train in params.yaml, so the train split is drawn anew and training
    learns from lines the model has not seen (val and test stay). An edit of that one number:
    the file keeps its comments and layout."""
    path = root / "params.yaml"
    before = load_params(path).shards.rounds.train
    text = path.read_text(encoding="utf-8")
    edited, found = ROUNDS_TRAIN.subn(lambda match: f"{match[1]}{before + 1}", text)
    if not found and "rounds" not in (yaml.safe_load(text).get("shards") or {}):  # none yet: round 0, as ever
        edited = SHARDS_LINE.sub(lambda match: f"{match[0]}  rounds: {{train: 1}}\n", text, count=1)
    rounds = ((yaml.safe_load(edited) or {}).get("shards") or {}).get("rounds") or {}
    if rounds.get("train") != before + 1:
        raise InputError(
            f"{path}: shards.rounds: write it as `rounds: {{train: {before}, val: 0, test: 0}}` under shards"
        )
    with AtomicFile(path) as file:
        file.write(edited.encode("utf-8"))
    return f"shards.rounds.train: {before} -> {before + 1} (new training lines)"


def why_stale(root: Path, stage: str) -> str:
    """What changed since dvc.lock for the stage (as `dvc status STAGE`): '' when up to date."""
    with dvc_repo(root) as repo:
        status = repo.status(targets=[stage])
    return "; ".join(describe_change(entry) for entries in status.values() for entry in entries)


def init_moved(root: Path, params: Params) -> str:
    """Where train.init names the registry (prod, crnn@v0.3.0): what moved since the model
    started from it (its models/crnn.init.json), '' when nothing did. dvc.lock cannot see
    git tags, so the pipeline asks this beside `dvc status` and trains on when prod moved."""
    recorded = init_record(params.train.model_path)
    if all(entry == "scratch" or entry.endswith(".keras") for entry in params.train.init) or not recorded.exists():
        return ""
    try:
        start = resolve_start(params.train.init, root)
    except RegistryError:
        return ""  # nothing to start from: training says so
    then = json.loads(recorded.read_text(encoding="utf-8"))
    named, commit = (start.named, start.commit) if start else ("scratch", None)
    if (named, commit) == (then.get("init"), then.get("commit")):
        return ""
    now = f"{named} = crnn@{start.version}" if start and start.version else named
    started = f"crnn@{then['version']}" if then.get("version") else then.get("init")
    return f"train.init now resolves to {now}; the model started from {started}"


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


def push_git(root: Path) -> str:
    """Push the checkout's branch and the registry's tags (GTO's registry is git tags) to git's
    origin: where people see the versions, and where a training worker in a checkout of its
    own fetches the pipeline's commits (flows/handoff.py). A refused push is said, not raised:
    the version stands in this checkout either way."""
    if try_git(root, "remote", "get-url", "origin").returncode:
        return "no git remote origin: the versions stay in this checkout"
    pushed = try_git(root, "push", "--quiet", "--follow-tags", "origin", "HEAD")
    if pushed.returncode:
        return f"git push to origin refused ({pushed.stderr.strip()}): push by hand"
    return "pushed the branch and the registry's tags to git origin"
