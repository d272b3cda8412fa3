"""DVC's bookkeeping for work the flows do themselves: which stages of dvc.yaml are stale,
and recording a stage the flow ran (as `dvc commit`), so `dvc repro` and the flows agree."""

from __future__ import annotations

from pathlib import Path

from prefect import task

# Two DVC commands on one checkout at once fail on DVC's lock: retried, not fatal.
dvc_task = task(retries=3, retry_delay_seconds=3)


@dvc_task
def is_stale(root: Path, stage: str) -> bool:
    """Changed deps, params or outs since dvc.lock (as `dvc status STAGE`)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return bool(repo.status(targets=[stage]))


@dvc_task
def record(root: Path, stage: str) -> None:
    """Write the stage's deps, params and outs into dvc.lock and its outs into the cache."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        repo.commit(stage, force=True)


@dvc_task
def push(root: Path) -> int:
    """Send what dvc.lock pins to the default remote (none configured: nothing to do)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        if not repo.config["core"].get("remote"):
            return 0
        return repo.push()
