import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
OCRPIPE = [sys.executable, "-m", "ocrpipe"]


def write_params(directory: Path, **sections) -> Path:
    """A params.yaml in directory: the project's, with sections merged over it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["fonts"]["manifest"] = str(ROOT / "fonts" / "manifest.yaml")
    for section, values in sections.items():
        if isinstance(values, dict) and isinstance(params.get(section), dict):
            params[section].update(values)
        else:
            params[section] = values
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


def ocrpipe(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([*OCRPIPE, *map(str, args)], cwd=cwd or ROOT, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"ocrpipe {' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def renderer():
    from synth.params import Params
    from synth.render import Renderer

    return Renderer(Params())


@pytest.fixture(scope="session")
def small_shard(tmp_path_factory) -> Path:
    """A 60-image shard rendered once through the real command."""
    path = tmp_path_factory.mktemp("shard") / "small.tar"
    ocrpipe("render", "--out", path, "--count", 60, "--seed", 11)
    return path
