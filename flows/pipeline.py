"""The pipeline: the DAG of dvc.yaml, driven by Prefect. Only stale stages run (DVC decides);
each one run is recorded in dvc.lock, so `dvc repro` afterwards has nothing to do, and the
other way round. Then the gate and the registry, and Prefect artifacts for people to look at.
The run holds the checkout throughout (training/locks.py) and tells its story in its logs."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import tempfile
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.deployments import run_deployment
from prefect.runtime import flow_run

from flows.evaluate import evaluate
from flows.render import render_split
from flows.stages import push, record, why_stale
from flows.train import train
from synth.params import load_params
from training import use_backend
from training.curves import draw_curves
from training.evaluate import SLICES
from training.locks import hold_checkout
from training.registry import EXTERNAL_METRICS, METRICS, VERDICT, describe_registration, run_gate
from training.registry import register as register_model


@task(task_run_name="gate")
def gate(root: Path) -> dict:
    return run_gate(load_params(root / "params.yaml"), root / METRICS, root / VERDICT)


@task(retries=1, retry_delay_seconds=5, task_run_name="register")
def register(root: Path) -> dict:
    params = load_params(root / "params.yaml")
    use_backend(params.read.backend)  # reading the champion on the test split needs Keras
    return register_model(root, params)


@task(task_run_name="publish")
def publish(root: Path, result: dict) -> None:
    """Prefect artifacts: the metrics against the champion, and pictures of the data, the
    training curves and the errors."""
    champion = result["champion"] or {}
    rows = []
    for data, key in (("test split", "metrics"), ("outside set", "external")):
        new, old = result.get(key), champion.get(key)
        for scope in ("overall", *SLICES) if new else ():
            figures = [m if scope == "overall" else m["slices"][scope] for m in (new, old) if m]
            if not figures[0]["n"]:
                continue
            row = {"data": data, "slice": scope, "n": figures[0]["n"], "seq_acc": round(figures[0]["seq_acc"], 4),
                   "char_acc": round(figures[0]["char_acc"], 4)}  # fmt: skip
            if champion:
                row["champion seq_acc"] = round(figures[1]["seq_acc"], 4) if old and figures[1]["n"] else None
                row["champion char_acc"] = round(figures[1]["char_acc"], 4) if old and figures[1]["n"] else None
            rows.append(row)
    create_table_artifact(rows, key="crnn-metrics", description=metrics_description(result))

    params = load_params(root / "params.yaml")
    pictures = []
    test_shard = next(iter(sorted((root / params.shards.out_dir / "test").glob("*.tar"))), None)
    with tempfile.TemporaryDirectory() as scratch:
        if test_shard:
            from synth.shards import preview

            sheet = preview(test_shard, Path(scratch) / "samples.png", count=16)
            pictures.append((f"Samples of the test split ({test_shard.name})", inline_picture(sheet)))
        curves = draw_curves(root / params.train.live_dir, Path(scratch) / "curves.png")
        if curves:
            pictures.append(("Training curves: loss, validation accuracy, learning rate", inline_picture(curves)))
    for data, metrics in (("test split", METRICS), ("outside set", EXTERNAL_METRICS)):
        errors = root / metrics.with_name(metrics.stem + ".errors.png")
        if errors.exists():
            pictures.append((f"Worst errors and most confused characters, {data}", inline_picture(errors)))
    create_markdown_artifact(
        "\n\n".join(f"### {title}\n![{title}]({uri})" for title, uri in pictures),
        key="crnn-samples",
        description="Test samples, training curves and the worst errors",
    )


def metrics_description(result: dict) -> str:
    """Markdown: versions in code spans (else `crnn@v0.1.0` renders as a mail link), stages as words."""
    champion = result["champion"]
    against = f" against the champion `crnn@{champion['version']}`" if champion else ""
    verdict = "passed" if result["gate"]["passed"] else "failed (" + "; ".join(result["gate"]["failures"]) + ")"
    if result["version"] is None:
        registered = "Nothing registered."
    else:
        stage = f"stage {', '.join(result['stages'])}" if result["stages"] else "not promoted"
        registered = f"Registered `crnn@{result['version']}`, {stage}."
    return f"Test split and outside set{against}. Gate {verdict}. {registered}"


def inline_picture(path: Path, width: int = 800) -> str:
    """A picture as a data URI small enough for a Prefect event (JPEG, at most `width` px wide)."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.thumbnail((width, 2400))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def run_name() -> str:
    return f"pipeline-{datetime.now():%Y-%m-%d-%H%M}"


@flow(name="pipeline", flow_run_name=run_name)
def pipeline(repo: str = ".", train_deployment: str | None = None, wait: bool = False, dask: str | None = None) -> dict:
    """render (per split) -> train -> evaluate -> gate -> register, running only stale stages.

    The run holds the checkout from the first status to the last push (`dvc repro`, another
    pipeline or `ocrpipe train` meet the lock); wait: wait for a holder instead of failing.
    train_deployment: a deployment ("train/gpu") to send training to, e.g. on the `gpu`
    work pool; by default training runs here as a subflow.
    dask: render on this Dask scheduler ("local": a LocalCluster) instead of params' shards.dask.
    """
    root, logger = Path(repo).resolve(), get_run_logger()
    params = load_params(root / "params.yaml")  # a wrong value stops the run here, naming the field
    with hold_checkout(root, f"pipeline flow run {flow_run.name}", wait=wait, say=logger.info):
        for split in type(params.shards.splits).model_fields:  # train, val, test: dvc.yaml's render@ stages
            if stale(root, f"render@{split}", logger):
                render_split(str(root), split, dask)
        logger.info(push(root))  # a training worker on another machine pulls the shards from the remote

        if stale(root, "train", logger):
            if train_deployment:
                logger.info(f"train: sent to deployment {train_deployment}")
                run = run_deployment(train_deployment, parameters={"part_of_pipeline": True}, timeout=None)
                if not run.state.is_completed():
                    raise RuntimeError(f"training deployment {train_deployment}: {run.state.name}: {run.state.message}")
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
        publish(root, result)
    return result


def stale(root: Path, stage: str, logger) -> bool:
    """Whether the stage must run, said in the log with the reason."""
    reason = why_stale(root, stage)
    logger.info(f"{stage}: stale ({reason}): running" if reason else f"{stage}: up to date, skipped")
    return bool(reason)


@contextlib.contextmanager
def prefect_api():
    """A Prefect API for this process and its children.

    With PREFECT_API_URL set (a server, Prefect Cloud, a worker's run), that one. Otherwise a
    temporary local server: Prefect's ephemeral mode would serve this process only, and the
    process pools of the flows would each start a server of their own and lose their records.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=180)  # a fresh PREFECT_HOME migrates its database first
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        yield server.api_url
    finally:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (APILogWorker, EventsWorker):  # send what is queued while the server still listens
            worker.drain_all(timeout=30)
        del os.environ["PREFECT_API_URL"]
        server.stop()
