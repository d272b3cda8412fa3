"""ocrpipe: one command, a subcommand per step of the pipeline.

Each subcommand is a thin wrapper: the work lives in synth/ (and training/), so
dvc.yaml stages and the Prefect flows call the same functions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from synth.corpus import CorpusError
from synth.fonts import FontError
from synth.params import ParamsError, load_params
from synth.render import RenderError
from synth.shards import ShardError
from training.data import DataError

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
shards_app = typer.Typer(help="Check, look at and unpack shards.", no_args_is_help=True)
app.add_typer(shards_app, name="shards")

ParamsOption = Annotated[Path | None, typer.Option("--params", help="params file (default: ./params.yaml)")]
# Errors that mean bad input, not a bug: reported in one line, exit status 2.
INPUT_ERRORS = (ParamsError, FontError, CorpusError, RenderError, ShardError, DataError, FileNotFoundError)


@app.command()
def render(
    out: Annotated[Path | None, typer.Option(help="write one shard here (PATH.tar)")] = None,
    count: Annotated[int, typer.Option(min=1, help="images in the shard (with --out)")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="seed of the shard (with --out)")] = 0,
    split: Annotated[
        list[str] | None, typer.Option(help="render every shard of this split from params (repeatable)")
    ] = None,
    jobs: Annotated[int, typer.Option(min=0, help="processes for --split (0: params, then one per core)")] = 0,
    params: ParamsOption = None,
):
    """Render labelled text-line images into shards."""
    from tqdm import tqdm

    from synth.render import render_shard, render_split

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
        paths = render_split(config, name, jobs or None)
        typer.echo(f"{name}: {len(paths)} shard(s) in {config.shards.out_dir / name}")


@app.command()
def fonts(params: ParamsOption = None):
    """Show how much of the charset each font of the manifest covers (cmap and render check)."""
    from synth.charset import build_charset
    from synth.fonts import coverage_report, load_fonts

    config = load_params(params)
    charset = build_charset(config.charset)
    fonts = load_fonts(config.fonts.manifest, config.fonts.exclude, charset, config.render.height)
    typer.echo(coverage_report(fonts, charset))


def use_backend(backend: str) -> None:
    """Keras reads KERAS_BACKEND once, at import: set it from params unless the environment did."""
    os.environ.setdefault("KERAS_BACKEND", backend)


@app.command()
def train(params: ParamsOption = None):
    """Train the CRNN on the train shards (resumes from its checkpoint if one is there)."""
    config = load_params(params)
    use_backend(config.train.backend)
    from training.train import train as run_training

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
    from training.evaluate import evaluate as run_evaluation

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
    """Print path<TAB>text for each image; an unreadable image is reported and the rest still read."""
    config = load_params(params)
    use_backend(config.read.backend)
    from training.data import DataError, open_image
    from training.infer import Reader

    reader, loaded, failed = Reader.load(model), [], False
    for path in images:
        try:
            loaded.append((path, open_image(path)))
        except DataError as error:
            typer.echo(f"error: {error}", err=True)
            failed = True
    texts = reader.read_images([image for _, image in loaded], config.read.batch_size)
    for (path, _), text in zip(loaded, texts):
        typer.echo(f"{path}\t{text}")
    raise typer.Exit(1 if failed else 0)


@shards_app.command("verify")
def shards_verify(paths: Annotated[list[Path], typer.Argument(help="shards to check")]):
    """Check every member against the index (checksums, names, presence); exit 1 on any problem."""
    from synth.shards import verify

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
    from synth.shards import preview

    typer.echo(preview(path, out, count))


@shards_app.command("extract")
def shards_extract(path: Path, directory: Path):
    """Write the images as files, plus labels.tsv with the exact labels."""
    from synth.shards import extract

    typer.echo(f"{extract(path, directory)} images in {directory}")


def main():
    try:
        app()
    except INPUT_ERRORS as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
