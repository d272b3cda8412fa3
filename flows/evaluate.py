"""Evaluate the model on the test split and the outside set in a process of its own (Keras backend: params' read)."""

from __future__ import annotations

import os
from pathlib import Path

from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner

from flows.stages import record
from synth.params import load_params
from training import use_backend
from training.registry import EXTERNAL, EXTERNAL_METRICS, METRICS


@task(retries=1, retry_delay_seconds=5)
def evaluate_model(root: Path) -> dict:
    os.chdir(root)  # the pool's own process: paths (and those in the metrics) as `dvc repro` writes them
    params = load_params("params.yaml")
    use_backend(params.read.backend)
    from training.evaluate import evaluate

    test_split = params.shards.out_dir / "test"
    evaluate(params.train.model_path, EXTERNAL, EXTERNAL_METRICS, params.read.batch_size)
    return evaluate(params.train.model_path, test_split, METRICS, params.read.batch_size)


@flow(name="evaluate", task_runner=ProcessPoolTaskRunner(max_workers=1), log_prints=True)
def evaluate(repo: str = ".") -> dict:
    """Read the test split and the outside set, write metrics/eval.json and metrics/external.json
    with their error pictures, record stage `evaluate`."""
    root = Path(repo).resolve()
    metrics = evaluate_model.submit(root).result()
    print(f"evaluate: n={metrics['n']} seq_acc={metrics['seq_acc']:.4f} char_acc={metrics['char_acc']:.4f}")
    record(root, "evaluate")
    return metrics
