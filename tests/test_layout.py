"""The layout holds: imports only go down the rooms, no module imports one that imports it
back, and every dvc.yaml stage depends on exactly the code its command runs.

Imports are read from the source (every import statement, also those inside functions), so
nothing is executed: `python tests/test_layout.py` prints each stage's code for dvc.yaml.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# The rooms, bottom up: a module imports from its own room or a lower one, never sideways
# (synth and training share a rank and know nothing of each other) and never up.
RANKS = {"core": 0, "synth": 1, "training": 1, "stages": 2, "flows": 3, "ocrpipe": 4}
CLI = ROOT / "ocrpipe.py"


def module_path(name: str) -> Path | None:
    """The project's file for a module name (None for third-party and standard modules)."""
    if name.split(".")[0] not in RANKS:
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(node: ast.AST) -> set[str]:
    """Module names imported anywhere under node; `from pkg import mod` counts mod when it is a module."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Import):
            names.update(alias.name for alias in child.names)
        elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
            names.add(child.module)
            names.update(f"{child.module}.{a.name}" for a in child.names if module_path(f"{child.module}.{a.name}"))
    return names


@cache
def imports_of(path: Path) -> frozenset[Path]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(p for p in map(module_path, imported_names(tree)) if p is not None and p != path)


def project_modules() -> list[Path]:
    return [CLI, *sorted(p for room in RANKS if (ROOT / room).is_dir() for p in (ROOT / room).glob("*.py"))]


def closure(starts) -> set[Path]:
    seen, todo = set(), list(starts)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(imports_of(path))
    return seen


def command_code(stage_cmd: str) -> set[Path]:
    """The project files `ocrpipe SUBCOMMAND ...` runs: the CLI's module-level imports, those of
    the subcommand's function, and everything they import. The CLI file itself is the
    dispatcher, not counted (an edit to one subcommand would make every stage stale)."""
    command = stage_cmd.split()[1]
    tree = ast.parse(CLI.read_text(encoding="utf-8"))
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == command)
    top = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    names = imported_names(function) | set().union(*(imported_names(node) for node in top))
    return closure(p for p in map(module_path, names) if p) - {CLI}


def stage_commands() -> dict[str, list[str]]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    commands = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        cmd = body["cmd"]
        commands[name] = [cmd] if isinstance(cmd, str) else cmd
    return commands


def declared_code(stage: str) -> set[Path]:
    """The Python files the stage's deps in dvc.yaml name, directly or as a folder."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    body = stages[stage].get("do", stages[stage])
    files = set()
    for dep in body["deps"]:
        path = ROOT / dep
        if path.is_dir() and dep.split("/")[0] in RANKS:  # package markers hold no code (test below)
            files.update(p for p in path.rglob("*.py") if p.name != "__init__.py")
        elif path.suffix == ".py":
            files.add(path)
    return files


def needed_code(stage: str) -> set[Path]:
    return set().union(*(command_code(cmd) for cmd in stage_commands()[stage]))


def test_every_stage_depends_on_exactly_the_code_it_runs():
    for stage in stage_commands():
        needed, declared = needed_code(stage), declared_code(stage)
        missing = sorted(str(p.relative_to(ROOT)) for p in needed - declared)
        extra = sorted(str(p.relative_to(ROOT)) for p in declared - needed)
        assert not missing and not extra, f"dvc.yaml stage {stage}: add {missing}, remove {extra}"


def test_the_metrics_code_is_trains_and_evaluates_and_the_model_code_trains_alone():
    model, metrics, params = (ROOT / "training/model.py", ROOT / "training/metrics.py", ROOT / "core/params.py")
    using = {stage: needed_code(stage) for stage in stage_commands()}
    assert {stage for stage, code in using.items() if model in code} == {"train"}
    assert {stage for stage, code in using.items() if metrics in code} == {"train", "evaluate"}
    assert {stage for stage, code in using.items() if params in code} == set(using)


def test_train_depends_on_the_model_files_it_starts_from():
    """train.init names model files in params.yaml; dvc.yaml cannot read that, so it names the
    files themselves (and their charsets): the two must agree, or a new base model would not
    retrain. (A registry version there is pinned by models/crnn.init.json instead.)"""
    init = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["train"].get("init", "scratch")
    files = [entry for entry in ([init] if isinstance(init, str) else init) if entry.endswith(".keras")]
    deps = set(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]["train"]["deps"])
    for model in files:
        charset = str(Path(model).with_name(Path(model).stem + ".charset.json"))
        assert {model, charset} <= deps, f"dvc.yaml train: add {model} and {charset}"
    assert files, "params.yaml fine-tunes the base model (the test above would pass vacuously otherwise)"


def test_imports_go_down_the_rooms():
    wrong = []
    for path in project_modules():
        room = path.parent.name if path != CLI else "ocrpipe"
        for target in imports_of(path):
            other = target.parent.name if target != CLI else "ocrpipe"
            if other != room and RANKS[other] >= RANKS[room]:
                wrong.append(f"{path.relative_to(ROOT)} imports {target.relative_to(ROOT)}")
    assert not wrong, "imports that go sideways or up: " + "; ".join(wrong)


def test_no_module_imports_one_that_imports_it_back():
    circles = []
    for path in project_modules():
        reachable = closure(imports_of(path))
        if path in reachable:
            circles.append(str(path.relative_to(ROOT)))
    assert not circles, f"modules on an import circle: {circles}"


def test_package_markers_hold_no_code():
    """An __init__.py with only a docstring: importing a module of a room runs nothing else,
    so the stages' code lists above are complete without them."""
    for room in RANKS:
        marker = ROOT / room / "__init__.py"
        if marker.is_file():
            body = ast.parse(marker.read_text(encoding="utf-8")).body
            assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body), marker


if __name__ == "__main__":
    for stage in stage_commands():
        print(f"{stage}:", *sorted(str(p.relative_to(ROOT)) for p in needed_code(stage)), sep="\n  - ")
    sys.exit(0)
