"""Train the CRNN in a process of its own (its Keras backend comes from params or the worker's
environment, e.g. KERAS_BACKEND=jax on a GPU machine). Deployed on the `gpu` work pool."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner

from core.locks import hold_checkout
from core.params import load_params
from flows.checkout import enter, record
from flows.handoff import elsewhere, follow, record_of


def run_name() -> str:
    """train-<8 hex digits of the model, train and charset params>: runs of the same params share it."""
    root = Path(flow_run.parameters.get("repo", ".")).resolve()
    return f"train-{load_params(root / 'params.yaml').training_fingerprint()[:8]}"


# log_prints: the epoch lines training prints (in the pool's process) go to the run's logs.
@task(retries=1, retry_delay_seconds=5, task_run_name="fit", log_prints=True)  # a retry resumes from the checkpoint
def train_model(root: Path) -> dict:
    params = enter(root, "train.backend")
    from stages.train import train  # after enter(): Keras takes its backend on import

    return train(params)


@flow(name="train", flow_run_name=run_name, task_runner=ProcessPoolTaskRunner(max_workers=1), persist_result=True)
def train(repo: str = ".", part_of_pipeline: bool = False, order: dict | None = None) -> dict:
    """Train on the train split, then record stage `train` in dvc.lock.

    part_of_pipeline: sent by a pipeline run that holds the checkout and records the stage
    itself; otherwise this run holds the checkout. order: where the pipeline's checkout stands
    (flows/handoff.py); where this run's checkout is another one, it is brought there first,
    and the stage's record goes back in the result ({"summary", "record"}; record None when
    the checkout is the pipeline's own).
    """
    root, logger = Path(repo).resolve(), get_run_logger()
    handed = None
    if order and elsewhere(root, order):
        with hold_checkout(root, f"train flow run {flow_run.name}", say=logger.info):
            logger.info(f"train: in a checkout of its own, for the pipeline's at {order['host']}:{order['path']}")
            logger.info(follow(root, order))
            summary = train_model.submit(root).result()
            handed = record_of(root, "train")
        logger.info(f"train: recorded in {root / 'dvc.lock'}; the model pushed to the DVC remote")
    elif part_of_pipeline or order:
        summary = train_model.submit(root).result()
    else:
        with hold_checkout(root, f"train flow run {flow_run.name}", say=logger.info):
            summary = train_model.submit(root).result()
            record(root, "train")
    logger.info(
        f"train: {summary['epochs_run']} epochs, {summary['lines_seen']:,} lines in {summary['minutes']} min; "
        f"best val seq_acc {summary['best_val_seq_acc']} char_acc {summary['best_val_char_acc']}; model {summary['model']}"
    )
    return {"summary": summary, "record": handed}
