"""Training in a checkout of its own (a GPU machine): the pipeline's order out, the stage's record back.

The pipeline sends where its checkout stands: its commit, and its params.yaml and dvc.lock,
which pin the shards it has pushed to the DVC remote. A worker whose checkout is another one
moves it there (git fetch, checkout), pulls the train and val shards from the DVC remote,
trains, records the stage in its dvc.lock and pushes the model to the remote. The flow's
result carries the stage's record back: its dvc.lock entry and the small outputs git keeps
(metrics, plots, models/crnn.init.json). The pipeline writes that record into its own
dvc.lock, pulls the model, and checks that `dvc status` agrees the stage is up to date.

Git and the DVC remote carry code, data and model; Prefect's result storage the record (on
separate machines, storage both reach: PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK, see the README).
"""

from __future__ import annotations

import socket
from pathlib import Path

import yaml
from dvc.exceptions import DvcException

from core.errors import InputError
from core.files import AtomicFile
from core.locks import dvc_repo
from core.params import load_params
from core.registry import git, try_git
from flows.checkout import record, why_stale
from stages.register import uncommitted_code

SENT = ("params.yaml", "dvc.lock")  # what the pipeline's commit does not hold yet
TRAINING_SPLITS = ("train", "val")  # the shards training reads


class HandoffError(InputError):
    """The worker's checkout cannot be brought to the pipeline's, or its record does not fit."""


def order(root: Path) -> dict:
    """Where the pipeline's checkout stands, for a training worker that may have its own."""
    return {
        "host": socket.gethostname(),
        "path": str(root),
        "commit": git(root, "rev-parse", "HEAD"),
        "uncommitted": uncommitted_code(root),
        "files": {name: (root / name).read_text(encoding="utf-8") for name in SENT if (root / name).exists()},
    }


def elsewhere(root: Path, sent: dict) -> bool:
    """Whether this checkout is another one than the pipeline's."""
    return (sent["host"], sent["path"]) != (socket.gethostname(), str(root))


def follow(root: Path, sent: dict) -> str:
    """Bring this checkout to where the pipeline's stands and pull the shards training reads."""
    commit = sent["commit"]
    if sent["uncommitted"]:
        raise HandoffError(
            f"the pipeline's checkout {sent['host']}:{sent['path']} has uncommitted changes in "
            f"{', '.join(sent['uncommitted'])}: commit and push them, so that this checkout trains the same code"
        )
    fetch = try_git(root, "fetch", "--quiet", "--tags", "origin")  # the commit, and registry tags for train.init
    if try_git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode:
        why = fetch.stderr.strip() or "git fetch origin did not bring it"
        raise HandoffError(f"commit {commit[:12]} of the pipeline's checkout is not here ({why}): git push it")
    if git(root, "rev-parse", "HEAD") != commit:
        local = uncommitted_code(root)
        if local:
            raise HandoffError(f"this checkout {root} has uncommitted changes in {', '.join(local)}")
        # --force: only what SENT and the stages write differs from HEAD (checked above)
        git(root, "checkout", "--quiet", "--force", "--detach", commit)
    for name, text in sent["files"].items():
        with AtomicFile(root / name) as file:
            file.write(text.encode("utf-8"))
    params = load_params(root / "params.yaml")
    splits = [params.split_dir(split) for split in TRAINING_SPLITS]
    with dvc_repo(root) as repo:
        try:
            pulled = repo.pull(targets=[str(split) for split in splits])
        except DvcException as error:
            names = " and ".join(str(split.relative_to(root)) for split in splits)
            raise HandoffError(f"pulling {names} from the DVC remote: {error}") from error
    count = pulled["stats"]["fetched"]
    return f"checkout {root} at {commit[:12]} with the pipeline's params.yaml and dvc.lock; pulled {count} file(s)"


def record_of(root: Path, stage: str) -> dict:
    """Record the stage in this checkout's dvc.lock, push its cached outputs to the DVC
    remote, and return what the pipeline needs: the lock entry and the outputs git keeps."""
    record(root, stage)
    with dvc_repo(root) as repo:
        repo.push(targets=[stage])
        (found,) = repo.stage.collect(stage)
        kept = [Path(out.fs_path) for out in found.outs if not out.use_cache]
    entry = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8"))["stages"][stage]
    files = [path for out in kept for path in ([out] if out.is_file() else sorted(out.rglob("*"))) if path.is_file()]
    texts = {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8") for path in files}
    return {"stage": stage, "lock": entry, "files": texts}


def adopt(root: Path, handed: dict) -> str:
    """Write a worker's record of a stage into this checkout, pull its outputs from the DVC
    remote, and check that dvc now calls the stage up to date (same code, params and data)."""
    stage = handed["stage"]
    lock_path = root / "dvc.lock"
    lock = yaml.safe_load(lock_path.read_text(encoding="utf-8"))
    lock["stages"][stage] = handed["lock"]
    with AtomicFile(lock_path) as file:
        file.write(yaml.safe_dump(lock, sort_keys=False, allow_unicode=True).encode("utf-8"))
    for name, text in handed["files"].items():
        path = (root / name).resolve()
        if not path.is_relative_to(root):
            raise HandoffError(f"the {stage} record names {name}, outside the checkout")
        with AtomicFile(path) as file:
            file.write(text.encode("utf-8"))
    with dvc_repo(root) as repo:
        repo.pull(targets=[stage])
    stale = why_stale(root, stage)
    if stale:
        raise HandoffError(f"the worker's {stage} stage does not match this checkout ({stale})")
    record(root, stage)  # nothing changes in dvc.lock now; DVC writes its .gitignore entries for the outputs
    return f"{stage}: the worker's record written to dvc.lock, its outputs pulled from the DVC remote"
