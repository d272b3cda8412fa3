"""Rendering on Dask: the render flow on a LocalCluster of two worker processes draws the
very shards the process pool does, and DVC records them as `dvc repro` would."""

import sys

from conftest import make_project, run, tool_env

RENDER_ON_PARAMS = "from flows.server import prefect_api\nfrom flows.render import render_split\n" \
    "with prefect_api():\n    print('shards rendered:', render_split('.', 'train'))"  # fmt: skip


def test_a_local_dask_cluster_renders_the_shards_of_the_process_pool(tmp_path):
    pool = make_project(tmp_path / "pool")
    run("dvc", "repro", "render@train", cwd=pool)  # `ocrpipe render`: the process pool

    dask = make_project(tmp_path / "dask", shards={"dask": "local", "jobs": 2})
    env = tool_env(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    result = run(sys.executable, "-c", RENDER_ON_PARAMS, cwd=dask, env=env)
    assert "shards rendered: 2" in result.stdout
    assert "render train: 2 shard(s) to render on Dask (a local cluster)" in result.stdout + result.stderr

    names = sorted(p.name for p in (pool / "data/shards/train").glob("*.tar"))
    assert names == ["shard-00000.tar", "shard-00001.tar"]
    for name in names:
        assert (dask / "data/shards/train" / name).read_bytes() == (pool / "data/shards/train" / name).read_bytes()
    assert "Data and pipelines are up to date" in run("dvc", "status", "render@train", cwd=dask).stdout
