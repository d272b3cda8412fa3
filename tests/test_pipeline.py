"""dvc repro and the registry on a real checkout: git, DVC with a local remote, GTO tags.

One tiny project for the module; the tests run in order, each taking the project from the
state the previous one left (as a user would: repro, edit params, repro, register...).
"""

import hashlib
import json
import sys

import pytest
import yaml
from conftest import ROOT, make_project, run


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("pipeline") / "project")


def stages_run(output: str) -> list[str]:
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


def edit_params(project, section, **values):
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params[section].update(values)
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")


def tags(project) -> set[str]:
    return set(run("git", "tag", cwd=project).stdout.split())


def shard_files(project, split="train") -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (project / "data/shards" / split).glob("*.tar")}


def test_repro_runs_the_dag_and_then_has_nothing_to_do(project):
    first = run("dvc", "repro", cwd=project).stdout
    assert stages_run(first) == ["render@train", "render@val", "render@test", "train", "evaluate", "gate"]
    metrics = json.loads((project / "metrics/eval.json").read_text(encoding="utf-8"))
    assert metrics["n"] == 60 and set(metrics["slices"]) == {"digits", "en", "zh", "mixed"}
    assert json.loads((project / "metrics/gate.json").read_text(encoding="utf-8"))["passed"] is True

    again = run("dvc", "repro", cwd=project).stdout
    assert stages_run(again) == [] and "Data and pipelines are up to date" in again


def stale_after_touching(project, module: str) -> set[str]:
    """The stages `dvc status` calls stale once a comment is added to module (then removed)."""
    path = project / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"# a comment changes the file, not what it does\n")
        return set(json.loads(run("dvc", "status", "--json", cwd=project).stdout))
    finally:
        path.write_bytes(original)


def test_a_stage_is_stale_exactly_when_code_it_runs_changes(project):
    renders = {"render@train", "render@val", "render@test"}
    assert stale_after_touching(project, "core/params.py") == renders | {"train", "evaluate", "gate"}
    assert stale_after_touching(project, "training/model.py") == {"train"}
    assert stale_after_touching(project, "training/metrics.py") == {"train", "evaluate"}
    assert stale_after_touching(project, "synth/draw.py") == renders
    assert stale_after_touching(project, "stages/gate.py") == {"gate"}
    for unrelated in ("synth/sheet.py", "flows/pipeline.py", "training/curves.py"):
        assert stale_after_touching(project, unrelated) == set(), unrelated
    assert set(json.loads(run("dvc", "status", "--json", cwd=project).stdout)) == set()


def test_a_training_param_retrains_without_rendering(project):
    shards_before = shard_files(project)
    edit_params(project, "train", epochs=3)
    output = run("dvc", "repro", cwd=project).stdout
    assert stages_run(output) == ["train", "evaluate", "gate"]
    assert shard_files(project) == shards_before


def test_more_shards_renders_only_the_new_ones(project):
    before = shard_files(project)
    edit_params(project, "shards", splits={"train": 3, "val": 1, "test": 1})
    output = run("dvc", "repro", "render@train", "render@val", "render@test", cwd=project).stdout
    assert stages_run(output) == ["render@train"]
    after = shard_files(project)
    assert set(after) == set(before) | {"shard-00002.tar"}
    assert {name: after[name] for name in before} == before  # the old shards were not touched
    run("dvc", "repro", cwd=project)


def test_a_failing_model_is_never_registered(project):
    edit_params(project, "gate", seq_acc=1.0, slices={"digits": {"seq_acc": 1.0}})
    run("dvc", "repro", cwd=project)
    verdict = json.loads((project / "metrics/gate.json").read_text(encoding="utf-8"))
    assert not verdict["passed"] and any(f.startswith("overall seq_acc") for f in verdict["failures"])
    head = run("git", "rev-parse", "HEAD", cwd=project).stdout
    output = run("ocrpipe", "register", cwd=project).stdout
    assert "gate: failed" in output and "registered: nothing" in output
    assert tags(project) == set() and run("git", "rev-parse", "HEAD", cwd=project).stdout == head


def test_register_refuses_a_workspace_that_dvc_lock_does_not_describe(project):
    edit_params(project, "gate", seq_acc=0.0, slices={})
    run("dvc", "repro", "gate", cwd=project)
    edit_params(project, "train", epochs=4)  # not reproduced
    result = run("ocrpipe", "register", cwd=project, check=False)
    assert result.returncode == 2 and "run `dvc repro` first" in result.stderr
    assert tags(project) == set()


def test_register_refuses_uncommitted_code(project):
    edit_params(project, "train", epochs=3)
    run("dvc", "repro", cwd=project)
    model_code = project / "flows/render.py"  # tracked, not a dep of any stage
    original = model_code.read_text(encoding="utf-8")
    model_code.write_text(original + "\n# an experiment\n", encoding="utf-8")
    try:
        result = run("ocrpipe", "register", cwd=project, check=False)
        assert result.returncode == 2 and "uncommitted changes in flows/render.py" in result.stderr
    finally:
        model_code.write_text(original, encoding="utf-8")
    assert tags(project) == set()


def test_register_tags_the_commit_that_holds_dvc_lock_and_promotes_the_first(project):
    edit_params(project, "train", epochs=3, learning_rate=1e-6)  # a weak first champion
    edit_params(project, "gate", compare_on="char_acc")
    run("dvc", "repro", cwd=project)
    output = run("ocrpipe", "register", cwd=project).stdout
    assert "registered: crnn@v0.1.0 [prod]" in output
    assert tags(project) == {"crnn@v0.1.0", "crnn#prod#1"}
    # The tagged commit pins the model: its dvc.lock, params and metrics are committed.
    assert run("git", "status", "--porcelain", "dvc.lock", "params.yaml", "metrics", cwd=project).stdout == ""
    tagged = run("git", "rev-list", "-n1", "crnn@v0.1.0", cwd=project).stdout.strip()
    assert tagged == run("git", "rev-parse", "HEAD", cwd=project).stdout.strip()
    lock = yaml.safe_load(run("git", "show", "crnn@v0.1.0:dvc.lock", cwd=project).stdout)
    assert any(out["path"] == "models/crnn.keras" for out in lock["stages"]["train"]["outs"])

    again = run("ocrpipe", "register", cwd=project).stdout
    assert "crnn@v0.1.0 [prod] (already registered)" in again and tags(project) == {"crnn@v0.1.0", "crnn#prod#1"}


def test_a_better_model_takes_prod_and_a_worse_one_does_not(project):
    edit_params(project, "train", epochs=4, learning_rate=0.003)
    run("dvc", "repro", cwd=project)
    better = run("ocrpipe", "register", cwd=project).stdout
    assert "champion v0.1.0" in better and "registered: crnn@v0.2.0 [prod]" in better

    edit_params(project, "train", epochs=2, learning_rate=1e-6)
    run("dvc", "repro", cwd=project)
    worse = run("ocrpipe", "register", cwd=project).stdout
    assert "champion v0.2.0" in worse and "registered: crnn@v0.3.0 (not promoted)" in worse

    listing = run("ocrpipe", "models", cwd=project).stdout.splitlines()
    assert [line.split()[0] for line in listing] == ["crnn@v0.3.0", "crnn@v0.2.0", "crnn@v0.1.0"]
    assert listing[1].split()[1] == "prod" and listing[0].split()[1] == "-"


def test_versions_compare_through_ocrpipe_and_dvc(project):
    compared = run("ocrpipe", "models", "compare", "v0.1.0", "prod", cwd=project).stdout
    assert "crnn@v0.1.0" in compared and "crnn@v0.2.0" in compared
    assert "test split digits seq_acc" in compared and "train.epochs: 3 -> 4" in compared
    assert "outside set zh char_acc" in compared
    assert "train.learning_rate: 1e-06 -> 0.003" in compared

    diff = json.loads(run("dvc", "metrics", "diff", "crnn@v0.1.0", "crnn@v0.2.0", "--json", cwd=project).stdout)
    assert "char_acc" in diff["metrics/eval.json"]
    plots = run("dvc", "plots", "diff", "crnn@v0.1.0", "crnn@v0.2.0", "--json", cwd=project).stdout
    assert "dvclive/plots/metrics/loss.tsv" in plots

    experiments = json.loads(run("dvc", "exp", "show", "--json", "--all-tags", cwd=project).stdout)
    # A commit with several tags is named by any of them (crnn@v0.2.0 or crnn#prod#2): match the commit.
    tagged = run("git", "rev-list", "-n1", "crnn@v0.2.0", cwd=project).stdout.strip()
    row = next(row for row in experiments if row["rev"] == tagged)
    assert "metrics/eval.json" in row["data"]["metrics"]

    unknown = run("ocrpipe", "models", "compare", "v9.9.9", "prod", cwd=project, check=False)
    assert unknown.returncode == 2 and "v9.9.9: no such version" in unknown.stderr


def init_moved(project) -> str:
    """What the pipeline would say of train.init (flows/checkout.py), asked in a process of its own."""
    code = "from pathlib import Path; from core.params import load_params; from flows.checkout import init_moved; "
    code += "print(init_moved(Path.cwd(), load_params('params.yaml')))"
    return run(sys.executable, "-c", code, cwd=project).stdout.strip()


def test_training_starts_from_prod_and_the_pipeline_sees_prod_move(project, tmp_path):
    edit_params(project, "train", init=["prod", "scratch"], epochs=2)
    output = run("dvc", "repro", cwd=project).stdout
    assert stages_run(output)[:1] == ["train"]
    record = json.loads((project / "models/crnn.init.json").read_text(encoding="utf-8"))
    prod = run("git", "rev-list", "-n1", "crnn@v0.2.0", cwd=project).stdout.strip()
    assert (record["init"], record["version"], record["commit"]) == ("prod", "v0.2.0", prod)
    run("dvc", "get", ".", "models/crnn.keras", "--rev", "crnn@v0.2.0", "-o", tmp_path / "v0.2.0.keras", cwd=project)
    assert record["sha256"] == hashlib.sha256((tmp_path / "v0.2.0.keras").read_bytes()).hexdigest()
    assert init_moved(project) == ""

    # prod moves: dvc repro keeps what dvc.lock and the record pin; the pipeline trains on.
    run("gto", "assign", "crnn", "crnn@v0.3.0", "--stage", "prod", cwd=project)
    assert init_moved(project) == "train.init now resolves to prod = crnn@v0.3.0; the model started from crnn@v0.2.0"
    assert stages_run(run("dvc", "repro", cwd=project).stdout) == []

    edit_params(project, "train", init=["crnn@v9.9.9", "models/none.keras"])
    failed = run("dvc", "repro", "train", cwd=project, check=False)
    said = failed.stderr + failed.stdout
    assert failed.returncode != 0 and "train.init: nothing to start from: crnn@v9.9.9 (not in the registry of" in said
    assert "models/none.keras (no such file)" in said
    edit_params(project, "train", init="scratch")


PROBE = """
import logging, sys
class Probe(logging.Handler):
    flushed = 0
    def flush(self):
        Probe.flushed += 1
logging.getLogger("probe").addHandler(Probe())
{importing}
print(Probe.flushed)
"""


@pytest.mark.parametrize(
    ("importing", "flushes"),
    [("import gto.api", True), ("from core.registry import gto_api; gto_api(); import gto.api", False)],
)
def test_gto_is_imported_without_touching_the_process_logging_handlers(importing, flushes):
    """gto's own import flushes and closes every handler (logging.config.dictConfig): inside a
    Prefect run that hung the register step. Through gto_api no handler is touched."""
    result = run(sys.executable, "-c", PROBE.format(importing=importing), cwd=ROOT)
    assert (int(result.stdout.split()[-1]) > 0) == flushes, result.stdout
