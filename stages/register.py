"""The model registry: GTO tags in git, models in DVC (after the gate, stages/gate.py).

- register: a passing model is committed (dvc.lock, params, metrics) and tagged
  `crnn@vX.Y.Z` on that commit; it is promoted to `prod` only if it beats the current
  prod model, both read on the same (current) test split. A failing model is never tagged.
- versions / compare: what `ocrpipe models` shows.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml

from core.params import Params
from core.paths import EXTERNAL_METRICS, METRICS, VERDICT
from core.registry import (
    ARTIFACT,
    PROD,
    RegistryError,
    fetch_model,
    git,
    gto_api,
    gto_versions,
    metrics_at,
    read_at,
    stages_of,
    try_git,
)

# What a version's commit holds besides the tag: the lock that pins data and model, the knobs,
# the DVC metrics and plots kept in git, and the .gitignore files DVC writes beside its outputs.
RECORDED = (
    "dvc.yaml", "dvc.lock", "params.yaml", "metrics/eval.json", "metrics/external.json", "metrics/gate.json",
    "dvclive/metrics.json", "models/crnn.init.json",
    "dvclive/plots", ".gitignore", "data/shards/.gitignore", "models/.gitignore", "metrics/.gitignore",
)  # fmt: skip


def _fallback_identity(root: Path) -> dict:
    """Commit and tag as the user; where git has no identity configured, as ocrpipe."""
    if try_git(root, "config", "user.email").returncode == 0 or "GIT_AUTHOR_EMAIL" in os.environ:
        return {}
    return {"author": "ocrpipe", "author_email": "ocrpipe@localhost"}


def assert_reproduced(root: Path) -> None:
    """dvc.lock must describe the workspace: the model we tag is the one the lock pins."""
    from core.locks import dvc_repo

    with dvc_repo(root) as repo:
        changed = repo.status(targets=["gate"], with_deps=True)
    if changed:
        raise RegistryError(f"dvc.lock does not match the workspace ({', '.join(changed)}): run `dvc repro` first")


def uncommitted_code(root: Path) -> list[str]:
    """Tracked files changed since HEAD, besides what register commits itself (RECORDED)."""
    changed = git(root, "diff", "--name-only", "HEAD").splitlines()
    return [path for path in changed if not any(path == r or path.startswith(r + "/") for r in RECORDED)]


def assert_code_committed(root: Path) -> None:
    """A version must be reproducible from its commit: no uncommitted change to tracked files
    besides what register commits itself."""
    others = uncommitted_code(root)
    if others:
        raise RegistryError(
            f"uncommitted changes in {', '.join(others)}: commit them first, so the version is reproducible"
        )


def commit_results(root: Path, summary: str) -> str:
    """Commit what pins this model (RECORDED) if it differs from HEAD; return the commit."""
    paths = [path for path in RECORDED if (root / path).exists()]
    git(root, "add", "--", *paths)
    if try_git(root, "diff", "--cached", "--quiet", "--", *paths).returncode:
        identity = _fallback_identity(root)
        options = (
            ["-c", f"user.name={identity['author']}", "-c", f"user.email={identity['author_email']}"]
            if identity
            else []
        )
        git(root, *options, "commit", "--quiet", "-m", f"{ARTIFACT}: {summary}", "--", *paths)
    return git(root, "rev-parse", "HEAD")


def evaluate_at(root: Path, commit: str, params: Params) -> dict:
    """The model of `commit` (fetched through DVC: cache, else remote) read on the current test split."""
    from stages.evaluate import evaluate

    model = params.train.model_path.resolve().relative_to(root)
    with tempfile.TemporaryDirectory() as scratch:
        local = fetch_model(root, commit, model, Path(scratch) / model.name)
        return evaluate(local, params.split_dir("test"), Path(scratch) / "eval.json", params.read.batch_size)


def register(root: Path, params: Params) -> dict:
    """Tag a model that passed the gate; promote it to prod if it beats the champion.

    Returns {metrics, external, gate, version, stages, new, champion: {version, metrics, external} | None};
    `external` is the outside set's metrics (None where absent).
    Running it again on the same commit changes nothing and reports the same version.
    """
    api = gto_api()
    root = Path(root).resolve()
    metrics = json.loads((root / METRICS).read_text(encoding="utf-8"))
    verdict = json.loads((root / VERDICT).read_text(encoding="utf-8"))
    external = (
        json.loads((root / EXTERNAL_METRICS).read_text(encoding="utf-8"))
        if (root / EXTERNAL_METRICS).exists()
        else None
    )
    result = {"metrics": metrics, "external": external, "gate": verdict, "version": None, "stages": [], "new": False,
              "champion": None}  # fmt: skip
    if not verdict["passed"]:
        return result
    assert_reproduced(root)
    assert_code_committed(root)
    commit = commit_results(root, f"seq_acc {metrics['seq_acc']:.4f}, char_acc {metrics['char_acc']:.4f}")

    known = gto_versions(root)
    existing = next((v for v in known if v["commit_hexsha"] == commit), None)
    if existing:
        return {**result, "version": existing["version"], "stages": stages_of(existing)}

    # The champion is read on today's test split before anything is tagged: a crash here
    # leaves the registry as it was.
    champion = next((v for v in known if PROD in stages_of(v)), None)
    key = params.gate.compare_on
    beats = True
    if champion is not None:
        champion_metrics = evaluate_at(root, champion["commit_hexsha"], params)
        result["champion"] = {
            "version": champion["version"],
            "metrics": champion_metrics,
            # The outside set is fixed in git: the champion's own figures on it compare as they are.
            "external": metrics_at(root, champion["commit_hexsha"], EXTERNAL_METRICS),
        }
        beats = metrics[key] > champion_metrics[key]

    identity = _fallback_identity(root)
    bump = {"bump_minor": True} if known else {"version": "v0.1.0"}
    version = api.register(str(root), ARTIFACT, ref=commit, **bump, **identity).version
    result.update(version=version, new=True)
    if not beats:
        return result
    message = f"{key} {metrics[key]:.4f}"
    if champion is not None:
        message += f" beats {champion['version']} ({result['champion']['metrics'][key]:.4f})"
    api.assign(str(root), ARTIFACT, PROD, version=version, message=message, **identity)
    return {**result, "stages": [PROD]}


def _flatten(tree, prefix: str = "") -> dict:
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() for k, v in _flatten(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): tree}


def params_diff(root: Path, a: dict, b: dict) -> dict[str, tuple]:
    """{param: (value in a, value in b)} for every param that differs between two versions."""
    flat = [_flatten(yaml.safe_load(read_at(root, v["commit"], "params.yaml") or "{}")) for v in (a, b)]
    return {key: (flat[0].get(key), flat[1].get(key)) for key in sorted(flat[0].keys() | flat[1].keys())
            if flat[0].get(key) != flat[1].get(key)}  # fmt: skip


def describe_registration(result: dict) -> str:
    """The lines the main job ends with: metrics, gate, version."""
    m = result["metrics"]
    lines = [f"metrics (n={m['n']}): seq_acc {m['seq_acc']:.4f}  char_acc {m['char_acc']:.4f}"]
    lines += [
        f"  {name:7} n={s['n']:<5} seq_acc {s['seq_acc']:.4f}  char_acc {s['char_acc']:.4f}"
        for name, s in m["slices"].items() if s["n"]
    ]  # fmt: skip
    lines.append(
        "gate: passed" if result["gate"]["passed"] else "gate: failed: " + "; ".join(result["gate"]["failures"])
    )
    if result["champion"]:
        c = result["champion"]
        lines.append(f"champion {c['version']} on this test split: seq_acc {c['metrics']['seq_acc']:.4f}")
    if result["version"] is None:
        lines.append("registered: nothing (the gate failed)")
    else:
        stages = f" [{', '.join(result['stages'])}]" if result["stages"] else " (not promoted)"
        lines.append(f"registered: crnn@{result['version']}{stages}{'' if result['new'] else ' (already registered)'}")
    return "\n".join(lines)
