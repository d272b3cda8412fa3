"""Evaluate the model on the test split and the outside set in a process of its own (Keras backend: params' read)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner

from core.params import load_params
from core.paths import EXTERNAL, EXTERNAL_METRICS, METRICS
from flows.checkout import enter, record


@task(retries=1, retry_delay_seconds=5, task_run_name="read-test-split-and-outside-set")
def evaluate_model(root: Path) -> tuple[dict, dict]:
    params = enter(root, "read.backend")  # paths in the metrics as `dvc repro` writes them
    from stages.evaluate import evaluate  # after enter(): Keras takes its backend on import

    outside = evaluate(params.train.model_path, EXTERNAL, EXTERNAL_METRICS, params.read.batch_size)
    return evaluate(params.train.model_path, params.split_dir("test"), METRICS, params.read.batch_size), outside


def run_name() -> str:
    """evaluate-<8 hex digits of the model file>: which model this run read."""
    root = Path(flow_run.parameters.get("repo", ".")).resolve()
    model = root / load_params(root / "params.yaml").train.model_path
    return f"evaluate-{hashlib.sha256(model.read_bytes()).hexdigest()[:8]}" if model.exists() else "evaluate"


@flow(name="evaluate", flow_run_name=run_name, task_runner=ProcessPoolTaskRunner(max_workers=1))
def evaluate(repo: str = ".") -> dict:
    """Read the test split and the outside set, write metrics/eval.json and metrics/external.json
    with their error pictures, record stage `evaluate`."""
    root, logger = Path(repo).resolve(), get_run_logger()
    metrics, outside = evaluate_model.submit(root).result()
    for name, figures in (("test split", metrics), ("outside set", outside)):
        logger.info(f"evaluate, {name}: {describe_metrics(figures)}")
    record(root, "evaluate")
    return metrics


def describe_metrics(metrics: dict) -> str:
    """'n=60 seq_acc 0.4500 char_acc 0.8800 (digits 0.9000/0.9800, en ...)' in one line."""
    slices = ", ".join(
        f"{name} {s['seq_acc']:.4f}/{s['char_acc']:.4f}" for name, s in metrics["slices"].items() if s["n"]
    )
    return f"n={metrics['n']} seq_acc {metrics['seq_acc']:.4f} char_acc {metrics['char_acc']:.4f} ({slices})"
