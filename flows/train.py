"""Train the CRNN in a process of its own (its Keras backend comes from params or the worker's
environment, e.g. KERAS_BACKEND=jax on a GPU machine). Deployed on the `gpu` work pool."""

from __future__ import annotations

import os
from pathlib import Path

from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner

from flows.stages import record
from synth.params import load_params
from training import use_backend


@task(retries=1, retry_delay_seconds=5)  # a retry resumes from the last epoch's checkpoint
def train_model(root: Path) -> dict:
    os.chdir(root)  # the pool's own process: paths as `dvc repro` sees them
    params = load_params("params.yaml")
    use_backend(params.train.backend, "train.backend")
    from training.train import train

    return train(params)


@flow(name="train", task_runner=ProcessPoolTaskRunner(max_workers=1), log_prints=True)
def train(repo: str = ".") -> dict:
    """Train on the train split, then record stage `train` in dvc.lock."""
    root = Path(repo).resolve()
    summary = train_model.submit(root).result()
    print(f"train: {summary}")
    record(root, "train")
    return summary
