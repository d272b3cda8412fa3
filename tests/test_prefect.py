"""The deployed pipeline, end to end: a Prefect server on loopback, `prefect deploy` from
prefect.yaml, a process worker for the `cpu` pool in the project's checkout and one for the
`gpu` pool (on the CPU here) in a clone of its own, as on another machine: the two share a
git origin and a DVC remote, nothing else. The nightly deployment is triggered by hand."""

import json
import re
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml
from conftest import ROOT, make_project, run, tool_env

from core.params import load_params
from flows.checkout import next_training_round


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(url: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"{url}/{path}", data=json.dumps(body or {}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_healthy(url: str, server: subprocess.Popen, log, seconds: int = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"prefect server not healthy after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def prefect(tmp_path_factory):
    """A Prefect server on loopback with the two work pools and a process worker on each:
    the `cpu` one in the project's checkout, the `gpu` one in a clone of the same origin."""
    home = tmp_path_factory.mktemp("prefect")
    project = make_project(tmp_path_factory.mktemp("deployed") / "project")
    origin, elsewhere = project.parent / "origin.git", project.parent / "gpu-machine" / "project"
    run("git", "clone", "--quiet", "--bare", project, origin, cwd=project.parent)
    run("git", "remote", "add", "origin", origin, cwd=project)
    run("git", "clone", "--quiet", origin, elsewhere, cwd=project.parent)  # DVC's remote comes with .dvc/config
    url = f"http://127.0.0.1:{free_port()}/api"
    base = {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "INFO"}
    client_env = tool_env(**base, PREFECT_API_URL=url, OCRPIPE_REPO=str(project), PREFECT_WORKER_QUERY_SECONDS="2")
    server_env = tool_env(**base)
    server_env.pop("PREFECT_API_URL", None)
    processes, logs = [], {}

    def start(name, *args, env, cwd=project):
        logs[name] = home / f"{name}.log"
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=logs[name].open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )
        processes.append(process)
        return process

    try:
        server = start("server", "prefect", "server", "start", "--host", "127.0.0.1", "--port", url.split(":")[-1][:-4],
                       env=server_env)  # fmt: skip
        wait_healthy(url, server, logs["server"])
        for pool in ("cpu", "gpu"):
            run("prefect", "work-pool", "create", pool, "--type", "process", cwd=project, env=client_env)
        # Deployed without OCRPIPE_REPO: each worker's own value is used when a run starts.
        deploy_env = {k: v for k, v in client_env.items() if k != "OCRPIPE_REPO"}
        run("prefect", "--no-prompt", "deploy", "--all", cwd=project, env=deploy_env)
        for pool, checkout in (("cpu", project), ("gpu", elsewhere)):
            start(f"worker-{pool}", "prefect", "worker", "start", "--pool", pool, "--type", "process",
                  env={**client_env, "OCRPIPE_REPO": str(checkout)}, cwd=checkout)  # fmt: skip
        yield {"project": project, "elsewhere": elsewhere, "url": url, "env": client_env, "logs": logs}
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_deployments_come_from_prefect_yaml(prefect):
    deployments = {d["name"]: d for d in api(prefect["url"], "deployments/filter")}
    assert deployments["nightly"]["work_pool_name"] == "cpu"
    assert deployments["gpu"]["work_pool_name"] == "gpu"
    schedules = deployments["nightly"]["schedules"]
    assert [s["schedule"]["cron"] for s in schedules] == ["0 2 * * *"]
    # The checkout comes from the worker's environment when a run starts, not from deploy time.
    steps = deployments["nightly"]["pull_steps"]
    assert steps == [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $OCRPIPE_REPO }}"}}]


def test_the_nightly_pipeline_runs_with_training_on_the_gpu_pool(prefect):
    project, env = prefect["project"], prefect["env"]
    result = run("prefect", "deployment", "run", "pipeline/nightly", "--watch", "--watch-timeout", "900",
                 cwd=project, env=env, check=False)  # fmt: skip
    logs = "\n".join(f"--- {name}\n{path.read_text()[-4000:]}" for name, path in prefect["logs"].items())
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{logs}"

    runs = api(prefect["url"], "flow_runs/filter")
    flows = {f["id"]: f["name"] for f in api(prefect["url"], "flows/filter")}
    by_flow = {}
    for flow_run in runs:
        by_flow.setdefault(flows[flow_run["flow_id"]], []).append(flow_run)
    assert {r["state_type"] for rs in by_flow.values() for r in rs} == {"COMPLETED"}
    assert [r["work_pool_name"] for r in by_flow["train"]] == ["gpu"]  # sent there by run_deployment
    assert [r["work_pool_name"] for r in by_flow["pipeline"]] == ["cpu"]
    assert len(by_flow["render"]) == 3 and len(by_flow["evaluate"]) == 1

    # The model was registered on the commit holding dvc.lock, and dvc repro agrees nothing is stale.
    assert set(run("git", "tag", cwd=project).stdout.split()) == {"crnn@v0.1.0", "crnn#prod#1"}
    assert "Data and pipelines are up to date" in run("dvc", "status", cwd=project).stdout
    assert (project.parent / "project-remote").is_dir()  # the shards and the model went to the remote

    # The gpu worker trained in its own checkout on the shards it pulled (train and val only),
    # recorded the stage there too, and the pipeline's model is the one it trained.
    elsewhere = prefect["elsewhere"]
    assert sorted(p.name for p in (elsewhere / "data/shards").iterdir() if p.is_dir()) == ["train", "val"]
    assert "Data and pipelines are up to date" in run("dvc", "status", "train", cwd=elsewhere).stdout
    lock_there = yaml.safe_load((elsewhere / "dvc.lock").read_text(encoding="utf-8"))["stages"]["train"]
    lock_here = yaml.safe_load((project / "dvc.lock").read_text(encoding="utf-8"))["stages"]["train"]
    assert lock_there == lock_here
    model = "models/crnn.keras"
    assert (elsewhere / model).read_bytes() == (project / model).read_bytes()
    # The registered version can be fetched anywhere through git and the DVC remote.
    fetched = project.parent / "fetched.keras"
    run("dvc", "artifacts", "get", project, "crnn", "--stage", "prod", "-o", fetched, cwd=project.parent)
    assert fetched.read_bytes() == (project / model).read_bytes()

    # Runs are named by what they do, and the pipeline tells its story in its logs.
    url = prefect["url"]
    assert re.fullmatch(r"pipeline-\d{4}-\d{2}-\d{2}-\d{4}", by_flow["pipeline"][0]["name"])
    assert sorted(r["name"] for r in by_flow["render"]) == ["render-test", "render-train", "render-val"]
    assert re.fullmatch(r"train-[0-9a-f]{8}", by_flow["train"][0]["name"])
    assert re.fullmatch(r"evaluate-[0-9a-f]{8}", by_flow["evaluate"][0]["name"])
    story = messages(url, by_flow["pipeline"][0])
    for line in ("render@train: stale (", "train: stale (changed", "train: sent to deployment train/gpu",
                 "train: the worker's record written to dvc.lock", "gate: passed", "registered: crnn@v0.1.0 [prod]",
                 "pushed "):  # fmt: skip
        assert line in story, f"{line!r} not in the pipeline's logs:\n{story}"
    trained = messages(url, by_flow["train"][0])
    assert f"train: in a checkout of its own, for the pipeline's at {socket.gethostname()}:{project}" in trained
    assert re.search(r"^epoch 2/2: loss [\d.]+, val seq_acc [\d.]+ char_acc [\d.]+.*, lr [\d.e+-]+, [\d.]+ min$",
                     trained, re.MULTILINE)  # fmt: skip
    assert "evaluate, outside set: n=520 seq_acc" in messages(url, by_flow["evaluate"][0])

    artifacts = {a["key"]: a for a in api(url, "artifacts/filter")}
    assert artifacts["crnn-metrics"]["type"] == "table"
    assert artifacts["crnn-metrics"]["description"] == (
        "Test split and outside set. Gate passed. Registered `crnn@v0.1.0`, stage prod."
    )
    rows = json.loads(artifacts["crnn-metrics"]["data"])
    assert rows[0]["slice"] == "overall" and rows[0]["n"] == 60
    samples = artifacts["crnn-samples"]["data"]
    assert "### Samples of the test split (shard-00000.tar)" in samples and "### Training curves" in samples
    assert samples.count("data:image/jpeg;base64,") == 4  # samples, curves, errors on both sets

    # The next night draws a new round of training lines (val and test stay) and trains on them.
    nightly = ("prefect", "deployment", "run", "pipeline/nightly", "--watch", "--watch-timeout", "600")
    second = run(*nightly, cwd=project, env=env, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    runs, story = latest_pipeline(url, flows)
    assert "shards.rounds.train: 1 -> 2 (new training lines)" in story
    assert "render@val: up to date, skipped" in story and "train: stale (changed deps" in story
    names = [flows.get(r["flow_id"]) for r in runs]
    assert names.count("render") == 4 and names.count("train") == 2
    assert yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))["shards"]["rounds"]["train"] == 2
    assert "crnn@v0.2.0" in run("git", "tag", cwd=project).stdout.split()  # registered, promoted or not
    # Each night's versions went to git's origin, where the gpu worker's checkout fetched the commit.
    origin = project.parent / "origin.git"
    assert run("git", "tag", cwd=origin).stdout.split() == run("git", "tag", cwd=project).stdout.split()
    assert "pushed the branch and the registry's tags to git origin" in story

    # Without new lines nothing changed: the run does no heavy work (no render, train or evaluate flow).
    again = run(*nightly, "--param", "new_lines=false", cwd=project, env=env, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    runs, story = latest_pipeline(url, flows)
    names = [flows.get(r["flow_id"]) for r in runs]
    assert names.count("pipeline") == 3 and names.count("train") == 2 and names.count("render") == 4
    assert "train: up to date, skipped" in story


def latest_pipeline(url: str, flows: dict) -> tuple[list[dict], str]:
    """Every flow run so far, and the logs of the latest pipeline run."""
    runs = api(url, "flow_runs/filter")
    latest = max((r for r in runs if flows.get(r["flow_id"]) == "pipeline"), key=lambda r: r["expected_start_time"])
    return runs, messages(url, latest)


def test_a_new_training_round_keeps_the_comments_of_params_yaml(tmp_path):
    shipped = (ROOT / "params.yaml").read_text(encoding="utf-8")
    before = shipped.replace("manifest: fonts/manifest.yaml", f"manifest: {ROOT / 'fonts/manifest.yaml'}")
    (tmp_path / "params.yaml").write_text(before, encoding="utf-8")
    assert next_training_round(tmp_path) == "shards.rounds.train: 0 -> 1 (new training lines)"
    after = (tmp_path / "params.yaml").read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and "train: 1," in changed[0][1] and "#" in changed[0][1]

    # params.yaml from before rounds existed: round 0, and the first advance writes the field
    (tmp_path / "params.yaml").write_text(re.sub(r"\n  rounds:.*", "", before), encoding="utf-8")
    assert next_training_round(tmp_path) == "shards.rounds.train: 0 -> 1 (new training lines)"
    assert load_params(tmp_path / "params.yaml").shards.rounds.model_dump() == {"train": 1, "val": 0, "test": 0}


def messages(url: str, flow_run: dict) -> str:
    """The log lines of a flow run (its tasks' included), oldest first."""
    logs = api(url, "logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}, "sort": "TIMESTAMP_ASC",
                                    "limit": 200})  # fmt: skip
    return "\n".join(log["message"] for log in logs)
