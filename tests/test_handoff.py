"""A training worker with a checkout of its own: brought to where the pipeline stands, or a
refusal naming what it cannot reproduce (the deployed round trip runs in test_prefect.py)."""

import pytest
from conftest import make_project, run

from flows.handoff import HandoffError, elsewhere, follow, order


@pytest.fixture()
def checkouts(tmp_path):
    """The pipeline's checkout with a bare origin, and a worker's clone of that origin."""
    project = make_project(tmp_path / "project")
    origin, worker = tmp_path / "origin.git", tmp_path / "worker" / "project"
    run("git", "clone", "--quiet", "--bare", project, origin, cwd=tmp_path)
    run("git", "remote", "add", "origin", origin, cwd=project)
    run("git", "clone", "--quiet", origin, worker, cwd=tmp_path)
    return project, worker


def test_the_pipelines_own_checkout_is_not_elsewhere(checkouts):
    project, worker = checkouts
    sent = order(project)
    assert not elsewhere(project, sent) and elsewhere(worker, sent)


def test_uncommitted_code_in_the_pipelines_checkout_is_refused_naming_the_file(checkouts):
    project, worker = checkouts
    with (project / "training/model.py").open("a") as file:
        file.write("# an edit the worker could not see\n")
    with pytest.raises(HandoffError, match=r"uncommitted changes in training/model.py: commit and push them"):
        follow(worker, order(project))


def test_a_commit_the_worker_cannot_fetch_is_refused(checkouts):
    project, worker = checkouts
    (project / "NOTES").write_text("not pushed\n")
    run("git", "add", "NOTES", cwd=project)
    run("git", "commit", "--quiet", "-m", "local only", cwd=project)
    commit = run("git", "rev-parse", "HEAD", cwd=project).stdout.strip()
    with pytest.raises(
        HandoffError, match=rf"commit {commit[:12]} of the pipeline's checkout is not here .*git push it"
    ):
        follow(worker, order(project))
    run("git", "push", "--quiet", "origin", "main", cwd=project)
    with pytest.raises(HandoffError, match=r"pulling data/shards/train and data/shards/val from the DVC remote: "):
        follow(worker, order(project))  # nothing rendered yet
    run("dvc", "repro", "--quiet", "render@train", "render@val", cwd=project)
    run("dvc", "push", "--quiet", cwd=project)
    said = f"checkout {worker} at {commit[:12]} with the pipeline's params.yaml and dvc.lock; pulled "
    assert follow(worker, order(project)).startswith(said)
    assert run("git", "rev-parse", "HEAD", cwd=worker).stdout.strip() == commit
    for split in ("train", "val"):
        here, there = project / "data/shards" / split, worker / "data/shards" / split
        assert {p.name: p.read_bytes() for p in here.iterdir()} == {p.name: p.read_bytes() for p in there.iterdir()}
    assert not (worker / "data/shards/test").exists()  # training does not read it
    assert "Data and pipelines are up to date" in run("dvc", "status", "render@train", "render@val", cwd=worker).stdout
