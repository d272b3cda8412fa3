"""Rendering on Dask against the process pool: the render flow on one split, both ways, in one run.

    .venv/bin/python bench/render_dask.py [--shards 8] [--per-shard 1000] [--jobs 2]

Two fresh project checkouts (git and DVC, built as the tests build theirs), the same params;
the render flow of flows/render.py draws the train split on its process pool in one and on a
Dask LocalCluster of as many worker processes in the other, under one temporary Prefect
server. Prints the seconds of each flow run (the cluster's start-up included: a user waits
for it too), images/s and the ratio, and checks that the shards are byte for byte the same.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8, help="train shards to render")
    parser.add_argument("--per-shard", type=int, default=1000, help="images per shard")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="pool processes = Dask workers")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        os.environ.update(PREFECT_HOME=str(Path(scratch) / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        from conftest import make_project  # the tests' project builder: code, fonts, git, DVC

        from flows.render import render_split
        from flows.server import prefect_api

        shards = {"images_per_shard": args.per_shard, "splits": {"train": args.shards, "val": 1, "test": 1},
                  "jobs": args.jobs}  # fmt: skip
        seconds, folders = {}, {}
        with prefect_api():
            for name, dask in (("process pool", None), ("Dask LocalCluster", "local")):
                project = make_project(Path(scratch) / name.split()[0].lower(), shards={**shards, "dask": dask})
                os.chdir(project)  # as the pipeline runs: paths in params are the checkout's
                started = time.perf_counter()
                render_split(str(project), "train")
                seconds[name], folders[name] = time.perf_counter() - started, project / "data/shards/train"

        images = args.shards * args.per_shard
        print(f"\nrender flow, train split: {args.shards} shards x {args.per_shard} images, {args.jobs} processes")
        for name, spent in seconds.items():
            print(f"  {name:18s} {spent:7.1f} s  {images / spent:7.1f} img/s")
        pool, dask = seconds["process pool"], seconds["Dask LocalCluster"]
        print(f"  Dask / process pool: {pool / dask:.2f}x the speed")
        same = all(
            path.read_bytes() == (folders["Dask LocalCluster"] / path.name).read_bytes()
            for path in folders["process pool"].glob("*.tar")
        )
        print(f"  shards byte-identical: {same}")


if __name__ == "__main__":
    main()
