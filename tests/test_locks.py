"""One run per checkout: the lock itself, then a pipeline and `dvc repro` started side by side
on a real checkout (git, DVC with a local remote, a Prefect server), and a killed holder."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, make_project, run, tool_env

from core.locks import Busy, RunLock, read_holder

HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from core.locks import RunLock
lock = RunLock({path!r}, "the test lock")
lock.acquire("holding for a test")
print("held", flush=True)
time.sleep(float(sys.argv[1]))
lock.release()
"""


def hold_in_another_process(path: Path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(root=str(ROOT), path=str(path)), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_held_lock_names_its_holder_and_is_free_once_released(tmp_path):
    path = tmp_path / "lock"
    holder = hold_in_another_process(path, 60)
    try:
        with pytest.raises(Busy) as busy:
            RunLock(path, "the test lock").acquire("a second run")
        assert str(busy.value).startswith(f"the test lock is in use by PID {holder.pid} (holding for a test, since ")
    finally:
        holder.kill()
        holder.wait()


def test_waiting_says_so_once_and_takes_the_lock_when_the_holder_ends(tmp_path):
    path, said = tmp_path / "lock", []
    holder = hold_in_another_process(path, 3)
    lock = RunLock(path, "the test lock")
    lock.acquire("a patient run", wait=True, say=said.append)
    assert len(said) == 1 and said[0].startswith(f"waiting for the test lock: in use by PID {holder.pid}")
    assert read_holder(path).pid == os.getpid() and holder.wait() == 0
    lock.release()
    assert read_holder(path) is None  # a clean release leaves no note


def test_a_holder_killed_with_sigkill_is_taken_over_and_said(tmp_path):
    path, said = tmp_path / "lock", []
    holder = hold_in_another_process(path, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = RunLock(path, "the test lock")
    lock.acquire("the next run", say=said.append)
    lock.release()
    assert len(said) == 1
    assert said[0].startswith(f"the test lock: taking over from PID {holder.pid} (holding for a test, since ")
    assert said[0].endswith(", no longer running), which ended without releasing it")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A tiny checkout whose training lasts long enough to be caught running (~10 s)."""
    return make_project(tmp_path_factory.mktemp("locks") / "project", train={"epochs": 4, "steps_per_epoch": 6})


def start(project: Path, *args: str, **env) -> subprocess.Popen:
    return subprocess.Popen(
        list(args), cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=tool_env(PREFECT_HOME=str(project.parent / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false", **env),
    )  # fmt: skip


def wait_for_holder(project: Path, process: subprocess.Popen, ours: bool, seconds: float = 300):
    """Until process (or a process under it) holds the checkout: DVC notes its PID, we note more."""
    lock = project / ".dvc" / "tmp" / "lock"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        holder = read_holder(lock)
        if holder and holder.alive and holder.ours == ours and holder.pid == process.pid:
            return holder
        assert process.poll() is None, f"ended before holding the checkout:\n{process.communicate()}"
        time.sleep(0.05)
    raise AssertionError("never held the checkout")


def tags(project: Path) -> set[str]:
    return set(run("git", "tag", cwd=project).stdout.split())


def edit_train(project: Path, **values):
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["train"].update(values)
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")


def test_a_pipeline_beside_dvc_repro_says_who_holds_the_checkout_before_training(project):
    repro = start(project, "dvc", "repro")
    wait_for_holder(project, repro, ours=False)
    refused = start(project, sys.executable, "-m", "ocrpipe", "pipeline")
    out, err = refused.communicate(timeout=120)
    assert refused.returncode == 2, out + err
    assert err.startswith(f"error: the checkout {project.resolve()} is in use by PID {repro.pid} (dvc repro, since ")
    assert err.strip().endswith("--wait waits for it") and len(err.strip().splitlines()) == 1
    out, err = repro.communicate(timeout=600)
    assert repro.returncode == 0, out + err
    assert "Data and pipelines are up to date" in run("dvc", "status", cwd=project).stdout
    assert tags(project) == set()


def test_dvc_repro_and_ocrpipe_train_beside_a_pipeline_meet_its_lock(project):
    edit_train(project, epochs=5)  # train is stale: the pipeline will train
    pipeline = start(project, sys.executable, "-m", "ocrpipe", "pipeline")
    holder = wait_for_holder(project, pipeline, ours=True)
    assert holder.command == "ocrpipe pipeline"
    repro = run("dvc", "repro", cwd=project, check=False)
    assert repro.returncode != 0 and "Unable to acquire lock" in repro.stderr
    train = run(sys.executable, "-m", "ocrpipe", "train", cwd=project, check=False)
    assert train.returncode == 2 and f"in use by PID {pipeline.pid} (ocrpipe pipeline, since " in train.stderr
    out, err = pipeline.communicate(timeout=900)
    assert pipeline.returncode == 0, out + err
    assert "registered: crnn@v0.1.0 [prod]" in out
    # Only the pipeline trained and registered; DVC agrees with what it recorded.
    assert "Data and pipelines are up to date" in run("dvc", "status", cwd=project).stdout
    assert tags(project) == {"crnn@v0.1.0", "crnn#prod#1"}


def test_after_a_killed_holder_the_next_run_takes_over_and_says_so(project):
    edit_train(project, epochs=6)
    killed = start(project, sys.executable, "-m", "ocrpipe", "train")
    wait_for_holder(project, killed, ours=True)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    result = run(sys.executable, "-m", "ocrpipe", "train", cwd=project)
    assert f"taking over from PID {killed.pid} (ocrpipe train, since " in result.stdout + result.stderr
    assert "epoch 6/6: loss" in result.stdout
    assert read_holder(project / ".dvc" / "tmp" / "lock") is None
    assert tags(project) == {"crnn@v0.1.0", "crnn#prod#1"}


def test_a_model_in_training_is_not_trained_twice(project):
    model = project / "models" / "crnn.keras"
    lock = RunLock(model.with_name(".crnn.lock"), "the model (training)")
    lock.acquire("training in the test")
    try:  # as dvc repro runs it: the checkout is dvc's, the model lock still holds
        result = run(sys.executable, "-m", "ocrpipe", "train", cwd=project, check=False,
                     env=tool_env(DVC_STAGE="train", DVC_ROOT=str(project)))  # fmt: skip
    finally:
        lock.release()
    assert result.returncode == 2
    assert f"error: the model models/crnn.keras (training) is in use by PID {os.getpid()}" in result.stderr
