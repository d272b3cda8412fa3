"""The render stage: each split's shards, from params (`ocrpipe render --split S`, dvc.yaml's
`render@S`, the Prefect render flow).

A shard's seed depends only on the params' seed, the split, its round (shards.rounds) and
its number, so raising a split's shard count renders only the new shards, and the same
params give byte-identical shards on any machine. A shard whose meta shows other params or
another seed is rendered again; shards beyond the count are removed.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm import tqdm

from core.charset import charset_digest, write_charset
from core.params import Params
from core.paths import SPLIT_CHARSET
from core.shards import Shard, ShardError, write_shard
from synth.draw import Renderer, RenderError

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def shard_seed(seed: int, split: str, shard_index: int, round_number: int = 0) -> int:
    """The seed of one shard: differs per split (no test line shares a seed with training) and
    per round (shards.rounds), and does not depend on how many shards there are (raising the
    count keeps the old ones)."""
    key = f"{seed}/{split}/{shard_index}" + (f"/round {round_number}" if round_number else "")
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "little")


@functools.lru_cache(maxsize=2)
def _renderer(params_json: str) -> Renderer:
    return Renderer(Params.model_validate_json(params_json))


def render_shard(
    params: Params,
    path: Path,
    count: int,
    seed: int,
    *,
    first_id: int = 0,
    id_width: int = 8,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Render `count` samples of stream `seed` into the shard at path (written atomically)."""
    renderer = _renderer(params.model_dump_json())

    def samples():
        for i in range(count):
            yield renderer.sample(seed, i)
            if progress and (i + 1) % 100 == 0:
                progress(100)
        if progress and count % 100:
            progress(count % 100)

    meta = write_shard(
        path,
        samples(),
        first_id=first_id,
        id_width=max(id_width, len(str(first_id + count - 1))),
        image_format=params.render.image_format,
        meta={
            "seed": seed,
            "fingerprint": params.rendering_fingerprint(),
            "charset_sha256_16": charset_digest(renderer.charset),
            "height": params.render.height,
        },
    )
    write_charset(renderer.charset, Path(path).parent / SPLIT_CHARSET)
    return meta


def split_shards(params: Params, split: str) -> list[tuple[Path, int, int]]:
    """(path, seed, first id) of each shard the params ask for in a split."""
    directory = params.split_dir(split)
    per_shard, round_number = params.shards.images_per_shard, getattr(params.shards.rounds, split)
    return [
        (directory / f"shard-{k:05d}.tar", shard_seed(params.seed, split, k, round_number), k * per_shard)
        for k in range(getattr(params.shards.splits, split))
    ]


def _is_current(path: Path, params: Params, seed: int) -> bool:
    """A complete shard already rendered from the same params and seed (its meta says so)."""
    try:
        meta = Shard(path).meta
    except ShardError:
        return False
    wanted = {"seed": seed, "fingerprint": params.rendering_fingerprint(), "count": params.shards.images_per_shard}
    return all(meta.get(key) == value for key, value in wanted.items())


def plan_split(params: Params, split: str, first: int = 0) -> list[tuple[Path, int, int]]:
    """The shards of a split still to render (missing, or rendered from other params), from
    shard `first` on: a base-model sitting draws only the new shards it trains on.

    Shards beyond the count in params are removed here, so the folder holds no more than the split.
    """
    wanted = split_shards(params, split)
    keep = {path for path, _, _ in wanted}
    directory = params.split_dir(split)
    for extra in sorted(directory.glob("shard-*.tar")) if directory.exists() else []:
        if extra not in keep:
            extra.unlink()
    return [(path, seed, first_id) for path, seed, first_id in wanted[first:] if not _is_current(path, params, seed)]


_progress = None  # in a render worker: the parent's progress queue


def _start_worker(progress, parent: int) -> None:
    """Each render worker dies with the process that started it. Killed, `ocrpipe render` once
    left its workers drawing the rest of the split for minutes: CPU taken from what ran next,
    and shards of the old params renamed into place after a new run had drawn them. On SIGTERM
    the shard being written is dropped (its temporary file removed), never left half-written."""
    global _progress
    _progress = progress
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds AtomicFile, which removes the partial file
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the line above
        sys.exit(1)


def _render_job(params_json: str, path: Path, seed: int, first_id: int) -> dict:
    params = Params.model_validate_json(params_json)
    try:
        return render_shard(
            params, path, params.shards.images_per_shard, seed, first_id=first_id, progress=_progress.put
        )
    except SystemExit:  # SIGTERM: the pool would report it and take the next shard; the process ends
        os._exit(1)


def render_split(params: Params, split: str, jobs: int | None = None, first: int = 0) -> list[Path]:
    """Render every missing or stale shard of a split from shard `first` on (plan_split), one
    process per shard, with one progress bar. The Prefect render flow maps the same plan over
    tasks instead."""
    wanted = split_shards(params, split)[first:]
    todo = plan_split(params, split, first)
    if not todo:
        return [path for path, _, _ in wanted]
    jobs = jobs or params.shards.jobs or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")  # forking a process that runs a progress thread is unsafe
    queue = context.Queue()
    with (
        ProcessPoolExecutor(
            max_workers=min(jobs, len(todo)),
            mp_context=context,
            initializer=_start_worker,
            initargs=(queue, os.getpid()),
        ) as pool,
        tqdm(total=len(todo) * params.shards.images_per_shard, desc=f"render {split}", unit="img") as bar,
    ):
        futures = {
            pool.submit(_render_job, params.model_dump_json(), path, seed, first_id): path
            for path, seed, first_id in todo
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            while not queue.empty():
                bar.update(queue.get())
            for future in done:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise RenderError(f"shard {futures[future]}: {future.exception()}") from future.exception()
    return [path for path, _, _ in wanted]
