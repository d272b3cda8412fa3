"""The pipeline: the DAG of dvc.yaml, driven by Prefect. Only stale stages run (DVC decides);
each records itself in dvc.lock, so `dvc repro` afterwards has nothing to do, and the other
way round. Then the gate and the registry, and Prefect artifacts for people to look at."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import tempfile
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.deployments import run_deployment

from flows.evaluate import evaluate
from flows.render import render
from flows.stages import is_stale, push, record
from flows.train import train
from synth.params import load_params
from training import use_backend
from training.evaluate import SLICES
from training.registry import EXTERNAL_METRICS, METRICS, VERDICT, run_gate
from training.registry import register as register_model


@task
def gate(root: Path) -> dict:
    return run_gate(load_params(root / "params.yaml"), root / METRICS, root / VERDICT)


@task(retries=1, retry_delay_seconds=5)
def register(root: Path) -> dict:
    params = load_params(root / "params.yaml")
    use_backend(params.read.backend)  # reading the champion on the test split needs Keras
    return register_model(root, params)


@task
def publish(root: Path, result: dict) -> None:
    """Prefect artifacts: the metrics against the champion, and a picture of the errors."""
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
    verdict = "passed" if result["gate"]["passed"] else "failed: " + "; ".join(result["gate"]["failures"])
    version = f"crnn@{result['version']} {result['stages']}" if result["version"] else "not registered"
    vs = f" against champion crnn@{champion['version']}" if champion else ""
    create_table_artifact(
        rows, key="crnn-metrics", description=f"Test split and outside set{vs}. Gate {verdict}. {version}."
    )

    pictures = []
    for data, metrics in (("test split", METRICS), ("outside set", EXTERNAL_METRICS)):
        errors = root / metrics.with_name(metrics.stem + ".errors.png")
        if errors.exists():
            pictures.append((f"Worst errors and most confused characters, {data}", inline_picture(errors)))
    test_shard = next(iter(sorted((load_params(root / "params.yaml").shards.out_dir / "test").glob("*.tar"))), None)
    if test_shard:
        from synth.shards import preview

        with tempfile.TemporaryDirectory() as scratch:
            sheet = preview(test_shard, Path(scratch) / "samples.png", count=16)
            pictures.append((f"Samples of {test_shard.name}", inline_picture(sheet)))
    create_markdown_artifact(
        "\n\n".join(f"### {title}\n![{title}]({uri})" for title, uri in pictures),
        key="crnn-samples",
        description="Test samples and the worst errors",
    )


def inline_picture(path: Path, width: int = 800) -> str:
    """A picture as a data URI small enough for a Prefect event (JPEG, at most `width` px wide)."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.thumbnail((width, 2400))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


@flow(name="pipeline", log_prints=True)
def pipeline(repo: str = ".", train_deployment: str | None = None) -> dict:
    """render (per split) -> train -> evaluate -> gate -> register, running only stale stages.

    train_deployment: a deployment ("train/gpu") to send training to, e.g. on the `gpu`
    work pool; by default training runs here as a subflow.
    """
    root = Path(repo).resolve()
    params = load_params(root / "params.yaml")  # a wrong value stops the run here, naming the field
    for split in type(params.shards.splits).model_fields:  # train, val, test: dvc.yaml's render@ stages
        if is_stale(root, f"render@{split}"):
            render(str(root), split)
    push(root)  # a training worker on another machine pulls the shards from the remote

    if is_stale(root, "train"):
        if train_deployment:
            run = run_deployment(train_deployment, timeout=None)
            if not run.state.is_completed():
                raise RuntimeError(f"training deployment {train_deployment}: {run.state.name}: {run.state.message}")
        else:
            train(str(root))
    if is_stale(root, "evaluate"):
        evaluate(str(root))
    if is_stale(root, "gate"):
        gate(root)
        record(root, "gate")

    result = register(root)
    push(root)
    publish(root, result)
    return result


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
