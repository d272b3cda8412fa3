"""ocrpipe: one command, a subcommand per step of the pipeline.

Each subcommand is a thin wrapper around one stage module (stages/), imported only when
the subcommand runs, so dvc.yaml stages and the Prefect flows call the same functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.backend import use_backend
from core.errors import InputError
from core.locks import Busy, hold_checkout
from core.params import check_dask_address, load_params

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
shards_app = typer.Typer(help="Check, look at and unpack shards.", no_args_is_help=True)
app.add_typer(shards_app, name="shards")
models_app = typer.Typer(help="The registry: versions of the crnn model, their metrics and stages.")
app.add_typer(models_app, name="models")

ParamsOption = Annotated[Path | None, typer.Option("--params", help="params file (default: ./params.yaml)")]
# Errors that mean bad input or a busy checkout, not a bug: reported in one line, exit status 2.
INPUT_ERRORS = (InputError, Busy, FileNotFoundError)


@app.command()
def render(
    out: Annotated[Path | None, typer.Option(help="write one shard here (PATH.tar)")] = None,
    count: Annotated[int, typer.Option(min=1, help="images in the shard (with --out)")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="seed of the shard (with --out)")] = 0,
    split: Annotated[
        list[str] | None, typer.Option(help="render every shard of this split from params (repeatable)")
    ] = None,
    jobs: Annotated[int, typer.Option(min=0, help="processes for --split (0: params, then one per core)")] = 0,
    first_shard: Annotated[
        int, typer.Option(min=0, help="with --split: only shards from this index on (a sitting's new shards)")
    ] = 0,
    params: ParamsOption = None,
):
    """Render labelled text-line images into shards."""
    from tqdm import tqdm

    from stages.render import render_shard, render_split

    config = load_params(params)
    if (out is None) == (not split):
        raise typer.BadParameter("give either --out PATH.tar or --split NAME")
    if out is not None:
        with tqdm(total=count, desc=out.name, unit="img") as bar:
            meta = render_shard(config, out, count, seed, progress=bar.update)
        typer.echo(f"{out}: {meta['count']} images")
        return
    for name in split:
        if name not in type(config.shards.splits).model_fields:
            raise typer.BadParameter(f"unknown split {name!r}; params define {list(config.shards.splits.model_fields)}")
        paths = render_split(config, name, jobs or None, first_shard)
        typer.echo(f"{name}: {len(paths)} shard(s) in {config.split_dir(name)}")


@app.command()
def fonts(params: ParamsOption = None):
    """Show how much of the charset each font of the manifest covers (cmap and render check)."""
    from core.charset import build_charset
    from synth.fonts import coverage_report, load_fonts

    config = load_params(params)
    charset = build_charset(config.charset)
    fonts = load_fonts(config.fonts.manifest, config.fonts.exclude, charset, config.render.height)
    typer.echo(coverage_report(fonts, charset))


WaitOption = Annotated[bool, typer.Option("--wait", help="wait for a run holding the checkout instead of exiting")]


@app.command()
def train(params: ParamsOption = None, wait: WaitOption = False):
    """Train the CRNN on the train shards (resumes from its checkpoint if one is there)."""
    config = load_params(params)
    use_backend(config.train.backend, "train.backend")
    from stages.train import train as run_training

    with hold_checkout(Path.cwd(), "ocrpipe train", wait=wait):
        summary = run_training(config)
    typer.echo(json.dumps(summary, indent=2))


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option(help="a saved model (.keras)")],
    data: Annotated[
        Path, typer.Option(help="a shard, a folder of shards or {id}_{label} images, or a path<TAB>label file")
    ],
    out: Annotated[Path, typer.Option(help="metrics JSON to write (an error picture goes beside it)")],
    params: ParamsOption = None,
):
    """Sequence and character accuracy, overall and per slice (digits, zh, en, mixed)."""
    config = load_params(params)
    use_backend(config.read.backend)
    from stages.evaluate import evaluate as run_evaluation

    result = run_evaluation(model, data, out, config.read.batch_size)
    typer.echo(f"n={result['n']} seq_acc={result['seq_acc']:.4f} char_acc={result['char_acc']:.4f}")
    for name, figures in result["slices"].items():
        if figures["n"]:
            typer.echo(
                f"  {name:7} n={figures['n']:<6} seq_acc={figures['seq_acc']:.4f} char_acc={figures['char_acc']:.4f}"
            )


@app.command()
def read(
    images: Annotated[list[Path], typer.Argument(help="line images, any mode and size")],
    model: Annotated[Path, typer.Option(help="a saved model (.keras)")] = Path("models/crnn.keras"),
    params: ParamsOption = None,
):
    """Print path<TAB>text for each image; an unreadable image is reported and the rest still read.
    A blank or page-sized image gets a warning on stderr (a blank one reads as nothing)."""
    config = load_params(params)
    use_backend(config.read.backend)
    from training.data import DataError, open_image, to_grey
    from training.infer import Reader, is_blank, not_a_line

    reader, loaded, failed = Reader.load(model), [], False
    for path in images:
        try:
            grey = to_grey(open_image(path))
        except DataError as error:
            typer.echo(f"error: {error}", err=True)
            failed = True
            continue
        problem = not_a_line(grey)
        if problem:
            typer.echo(f"warning: {path}: {problem}", err=True)
        loaded.append((path, grey, is_blank(grey)))
    to_read = [grey for _, grey, blank in loaded if not blank]  # a blank one reads as nothing, not a guess
    texts = iter(reader.read_arrays(to_read, config.read.batch_size))
    for path, _, blank in loaded:
        typer.echo(f"{path}\t{'' if blank else next(texts)}")
    raise typer.Exit(1 if failed else 0)


@app.command()
def gate(params: ParamsOption = None):
    """Check metrics/eval.json against the gate thresholds in params; write metrics/gate.json."""
    from stages.gate import run_gate

    verdict = run_gate(load_params(params))
    typer.echo("gate: passed" if verdict["passed"] else "gate: failed\n  " + "\n  ".join(verdict["failures"]))


@app.command()
def register(params: ParamsOption = None, wait: WaitOption = False):
    """Commit and tag the model as crnn@vX.Y.Z if it passed the gate; promote it to prod if it beats the champion."""
    from stages.register import describe_registration
    from stages.register import register as register_model

    config = load_params(params)
    use_backend(config.read.backend)  # reading the champion on the test split needs Keras
    with hold_checkout(Path.cwd(), "ocrpipe register", wait=wait):
        typer.echo(describe_registration(register_model(Path.cwd(), config)))


@models_app.callback(invoke_without_command=True)
def models(context: typer.Context):
    """List the registered versions with their stage and test metrics."""
    if context.invoked_subcommand:
        return
    from core.registry import versions

    rows = versions(Path.cwd())
    if not rows:
        typer.echo("no version of crnn registered yet")
    for row in rows:
        m = row["metrics"] or {}
        slices = "  ".join(f"{k} {v['seq_acc']:.3f}" for k, v in m.get("slices", {}).items() if v["n"])
        typer.echo(
            f"crnn@{row['version']:8} {','.join(row['stages']) or '-':5} {row['commit'][:8]}  "
            f"seq_acc {m.get('seq_acc', float('nan')):.4f}  char_acc {m.get('char_acc', float('nan')):.4f}  {slices}"
        )


@models_app.command("compare")
def models_compare(
    a: Annotated[str, typer.Argument(help="version (v0.2.0, crnn@v0.2.0) or stage (prod)")],
    b: Annotated[str, typer.Argument(help="version or stage")],
):
    """Both versions' metrics per slice, and the params that differ between them."""
    from core.params import SLICES
    from core.registry import resolve
    from stages.register import params_diff

    root = Path.cwd()
    left, right = resolve(root, a), resolve(root, b)
    typer.echo(f"{'':32}{'crnn@' + left['version']:>16}{'crnn@' + right['version']:>16}")
    for data, key in (("test split", "metrics"), ("outside set", "external")):
        for scope in ("overall", *SLICES):
            figures = [(v[key] or {}) if scope == "overall" else (v[key] or {}).get("slices", {}).get(scope, {})
                       for v in (left, right)]  # fmt: skip
            for metric in ("seq_acc", "char_acc"):
                cells = [f"{f[metric]:.4f}" if metric in f else "-" for f in figures]
                typer.echo(f"{data + ' ' + scope + ' ' + metric:32}{cells[0]:>16}{cells[1]:>16}")
    changed = params_diff(root, left, right)
    typer.echo("params: same" if not changed else "params that differ:")
    for key, (x, y) in changed.items():
        typer.echo(f"  {key}: {x!r} -> {y!r}")


@app.command()
def pipeline(
    train_deployment: Annotated[
        str | None, typer.Option(help="send training to this Prefect deployment (flow/name)")
    ] = None,
    wait: WaitOption = False,
    dask: Annotated[
        str | None, typer.Option(help="render on this Dask scheduler (tcp://HOST:8786, or local); default: params")
    ] = None,
    new_lines: Annotated[
        bool, typer.Option(help="advance shards.rounds.train first: train on lines not seen before (as nightly)")
    ] = False,
    push_to_origin: Annotated[
        bool, typer.Option(help="push the branch and the registry's tags to git's origin at the end (as nightly)")
    ] = False,
):
    """The whole pipeline through Prefect: render, train, evaluate, gate, register (only stale stages run)."""
    from flows.pipeline import pipeline as run_pipeline
    from flows.server import prefect_api
    from stages.register import describe_registration

    try:
        check_dask_address(dask)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--dask") from None
    # Taken before the Prefect server starts, so a busy checkout is one line at once; the flow holds it again.
    with hold_checkout(Path.cwd(), "ocrpipe pipeline", wait=wait), prefect_api():
        result = run_pipeline(
            repo=str(Path.cwd()), train_deployment=train_deployment, dask=dask, new_lines=new_lines,
            push_to_origin=push_to_origin,
        )  # fmt: skip
    typer.echo(describe_registration(result))


@shards_app.command("verify")
def shards_verify(paths: Annotated[list[Path], typer.Argument(help="shards to check")]):
    """Check every member against the index (checksums, names, presence); exit 1 on any problem."""
    from core.shards import verify

    failed = False
    for path in paths:
        problems = verify(path)
        for problem in problems:
            typer.echo(problem, err=True)
        if problems:
            failed = True
        else:
            typer.echo(f"{path}: ok")
    raise typer.Exit(1 if failed else 0)


@shards_app.command("preview")
def shards_preview(
    path: Path,
    out: Annotated[Path, typer.Option(help="PNG contact sheet to write")],
    count: Annotated[int, typer.Option(min=1, help="samples on the sheet")] = 40,
):
    """Write a contact sheet of samples with their labels, fonts and styles."""
    from synth.sheet import preview

    typer.echo(preview(path, out, count))


@shards_app.command("extract")
def shards_extract(path: Path, directory: Path):
    """Write the images as files, plus labels.tsv with the exact labels."""
    from core.shards import extract

    typer.echo(f"{extract(path, directory)} images in {directory}")


def main():
    try:
        app()
    except INPUT_ERRORS as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
