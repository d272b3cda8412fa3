"""The pipeline: the DAG of dvc.yaml, driven by Prefect. Only stale stages run (DVC decides);
each one run is recorded in dvc.lock, so `dvc repro` afterwards has nothing to do, and the
other way round. Then the gate and the registry, and Prefect artifacts for people to look at.
The run holds the checkout throughout (core/locks.py) and tells its story in its logs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.deployments import run_deployment
from prefect.runtime import flow_run

from core.backend import use_backend
from core.locks import hold_checkout
from core.params import load_params
from core.paths import METRICS, VERDICT
from flows.artifacts import publish
from flows.checkout import init_moved, next_training_round, push, push_git, record, why_stale
from flows.evaluate import evaluate
from flows.handoff import adopt, order
from flows.render import render_split
from flows.train import train
from stages.gate import run_gate
from stages.register import describe_registration
from stages.register import register as register_model


@task(task_run_name="gate")
def gate(root: Path) -> dict:
    return run_gate(load_params(root / "params.yaml"), root / METRICS, root / VERDICT)


@task(retries=1, retry_delay_seconds=5, task_run_name="register")
def register(root: Path) -> dict:
    params = load_params(root / "params.yaml")
    use_backend(params.read.backend)  # reading the champion on the test split needs Keras
    return register_model(root, params)


def run_name() -> str:
    return f"pipeline-{datetime.now():%Y-%m-%d-%H%M}"


@flow(name="pipeline", flow_run_name=run_name)
def pipeline(
    repo: str = ".", train_deployment: str | None = None, wait: bool = False, dask: str | None = None,
    new_lines: bool = False, push_to_origin: bool = False,
) -> dict:  # fmt: skip
    """render (per split) -> train -> evaluate -> gate -> register, running only stale stages.

    The run holds the checkout from the first status to the last push (`dvc repro`, another
    pipeline or `ocrpipe train` meet the lock); wait: wait for a holder instead of failing.
    train_deployment: a deployment ("train/gpu") to send training to, e.g. on the `gpu`
    work pool; by default training runs here as a subflow.
    dask: render on this Dask scheduler ("local": a LocalCluster) instead of params' shards.dask.
    new_lines: first advance shards.rounds.train, so training (from prod, with the main job's
    train.init) learns from new lines: what makes pipeline/nightly learn night after night.
    push_to_origin: at the end, push the branch and the registry's tags to git's origin (nightly
    does: a training worker in a checkout of its own fetches the pipeline's commits there).
    """
    root, logger = Path(repo).resolve(), get_run_logger()
    params = load_params(root / "params.yaml")  # a wrong value stops the run here, naming the field
    with hold_checkout(root, f"pipeline flow run {flow_run.name}", wait=wait, say=logger.info):
        if new_lines:
            logger.info(next_training_round(root))
        for split in type(params.shards.splits).model_fields:  # train, val, test: dvc.yaml's render@ stages
            if stale(root, f"render@{split}", logger):
                render_split(str(root), split, dask)
        logger.info(push(root))  # a training worker on another machine pulls the shards from the remote

        if stale(root, "train", logger, init_moved(root, params)):
            if train_deployment:
                logger.info(f"train: sent to deployment {train_deployment}")
                run = run_deployment(train_deployment, parameters={"order": order(root)}, timeout=None)
                if not run.state.is_completed():
                    raise RuntimeError(f"training deployment {train_deployment}: {run.state.name}: {run.state.message}")
                handed = run.state.result()["record"]
                if handed:  # trained in a checkout of its own
                    logger.info(adopt(root, handed))
                else:
                    record(root, "train")
            else:
                train(str(root), part_of_pipeline=True)
                record(root, "train")
        if stale(root, "evaluate", logger):
            evaluate(str(root))
        if stale(root, "gate", logger):
            gate(root)
            record(root, "gate")

        result = register(root)
        for line in describe_registration(result).splitlines():
            logger.info(line)
        logger.info(push(root))
        if push_to_origin:
            logger.info(push_git(root))
        publish(root, result)
    return result


def stale(root: Path, stage: str, logger, moved: str = "") -> bool:
    """Whether the stage must run, said in the log with the reason (moved: one dvc cannot see)."""
    reason = "; ".join(filter(None, (why_stale(root, stage), moved)))
    logger.info(f"{stage}: stale ({reason}): running" if reason else f"{stage}: up to date, skipped")
    return bool(reason)
