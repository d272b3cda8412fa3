"""Render one split: a task per missing shard, run by a process pool (Dask or Ray at scale)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner

from flows.stages import record
from synth.params import load_params
from synth.render import plan_split, render_shard


@task(retries=2, retry_delay_seconds=2, task_run_name="render-{path.parent.name}-{path.name}")
def render_one_shard(root: Path, path: Path, seed: int, first_id: int) -> dict:
    params = load_params(root / "params.yaml")
    return render_shard(params, path, params.shards.images_per_shard, seed, first_id=first_id)


@flow(name="render", flow_run_name="render-{split}", task_runner=ProcessPoolTaskRunner())
def render(repo: str = ".", split: str = "train") -> int:
    """Render the split's missing or stale shards, then record stage render@SPLIT in dvc.lock."""
    root, logger = Path(repo).resolve(), get_run_logger()
    todo = plan_split(load_params(root / "params.yaml"), split)
    logger.info(f"render {split}: {len(todo)} shard(s) to render")
    futures = render_one_shard.map(
        unmapped(root), [path for path, _, _ in todo], [seed for _, seed, _ in todo], [first for _, _, first in todo]
    )
    for done, future in enumerate(as_completed(futures), 1):
        logger.info(f"render {split}: {done}/{len(todo)} shards ({future.result()['count']} images)")
    record(root, f"render@{split}")
    return len(todo)
