"""Render one split: a task per missing shard, run by a process pool or a Dask cluster (shards.dask)."""

from __future__ import annotations

import os
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.context import FlowRunContext
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner

from core.params import Params, load_params
from flows.checkout import record
from stages.render import plan_split, render_shard


@task(retries=2, retry_delay_seconds=2, task_run_name="render-{path.parent.name}-{path.name}")
def render_one_shard(root: Path, path: Path, seed: int, first_id: int) -> dict:
    params = load_params(root / "params.yaml")
    return render_shard(params, path, params.shards.images_per_shard, seed, first_id=first_id)


def task_runner(params: Params, dask: str | None = None):
    """Where the shards are drawn: a Dask cluster when `dask` or params' shards.dask names one
    ("local": a LocalCluster of worker processes on this machine), else a process pool."""
    dask, jobs = dask or params.shards.dask, params.shards.jobs or os.cpu_count() or 1
    if dask is None:
        return ProcessPoolTaskRunner(max_workers=jobs)
    from prefect_dask import DaskTaskRunner

    if dask == "local":  # one thread per worker process: rendering holds the GIL
        return DaskTaskRunner(cluster_kwargs={"n_workers": jobs, "threads_per_worker": 1, "processes": True})
    return DaskTaskRunner(address=dask)


def render_split(repo: str, split: str, dask: str | None = None) -> int:
    """The render flow for one split on the task runner params (or `dask`) ask for."""
    runner = task_runner(load_params(Path(repo) / "params.yaml"), dask)
    return render.with_options(task_runner=runner)(repo, split)


@flow(name="render", flow_run_name="render-{split}", task_runner=ProcessPoolTaskRunner())
def render(repo: str = ".", split: str = "train") -> int:
    """Render the split's missing or stale shards, then record stage render@SPLIT in dvc.lock."""
    root, logger = Path(repo).resolve(), get_run_logger()
    todo = plan_split(load_params(root / "params.yaml"), split)
    logger.info(f"render {split}: {len(todo)} shard(s) to render on {describe(FlowRunContext.get().task_runner)}")
    futures = render_one_shard.map(
        unmapped(root), [path for path, _, _ in todo], [seed for _, seed, _ in todo], [first for _, _, first in todo]
    )
    for done, future in enumerate(as_completed(futures), 1):
        logger.info(f"render {split}: {done}/{len(todo)} shards ({future.result()['count']} images)")
    record(root, f"render@{split}")
    return len(todo)


def describe(runner) -> str:
    if isinstance(runner, ProcessPoolTaskRunner):
        return "a process pool"
    return f"Dask ({runner.address or 'a local cluster'})"
