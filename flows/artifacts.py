"""What the pipeline shows people in Prefect: the metrics against the champion (a table), and
pictures of the test samples, the training curves and the worst errors (inline, as JPEG)."""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

from PIL import Image
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from core.params import SLICES, load_params
from core.paths import EXTERNAL_METRICS, METRICS, errors_picture
from synth.sheet import preview
from training.curves import draw_curves


@task(task_run_name="publish")
def publish(root: Path, result: dict) -> None:
    """Prefect artifacts: the metrics against the champion, and pictures of the data, the
    training curves and the errors."""
    champion = result["champion"] or {}
    rows = []
    for data, key in (("test split", "metrics"), ("outside set", "external")):
        new, old = result.get(key), champion.get(key)
        for scope in ("overall", *SLICES) if new else ():
            figures = [m if scope == "overall" else m["slices"][scope] for m in (new, old) if m]
            if not figures[0]["n"]:
                continue
            row = {"data": data, "slice": scope, "n": figures[0]["n"], "seq_acc": round(figures[0]["seq_acc"], 4),
                   "char_acc": round(figures[0]["char_acc"], 4)}  # fmt: skip
            if champion:
                row["champion seq_acc"] = round(figures[1]["seq_acc"], 4) if old and figures[1]["n"] else None
                row["champion char_acc"] = round(figures[1]["char_acc"], 4) if old and figures[1]["n"] else None
            rows.append(row)
    create_table_artifact(rows, key="crnn-metrics", description=metrics_description(result))

    params = load_params(root / "params.yaml")
    pictures = []
    test_shard = next(iter(sorted((root / params.split_dir("test")).glob("*.tar"))), None)
    with tempfile.TemporaryDirectory() as scratch:
        if test_shard:
            sheet = preview(test_shard, Path(scratch) / "samples.png", count=16)
            pictures.append((f"Samples of the test split ({test_shard.name})", inline_picture(sheet)))
        curves = draw_curves(root / params.train.live_dir, Path(scratch) / "curves.png")
        if curves:
            pictures.append(("Training curves: loss, validation accuracy, learning rate", inline_picture(curves)))
    for data, metrics in (("test split", METRICS), ("outside set", EXTERNAL_METRICS)):
        errors = root / errors_picture(metrics)
        if errors.exists():
            pictures.append((f"Worst errors and most confused characters, {data}", inline_picture(errors)))
    create_markdown_artifact(
        "\n\n".join(f"### {title}\n![{title}]({uri})" for title, uri in pictures),
        key="crnn-samples",
        description="Test samples, training curves and the worst errors",
    )


def metrics_description(result: dict) -> str:
    """Markdown: versions in code spans (else `crnn@v0.1.0` renders as a mail link), stages as words."""
    champion = result["champion"]
    against = f" against the champion `crnn@{champion['version']}`" if champion else ""
    verdict = "passed" if result["gate"]["passed"] else "failed (" + "; ".join(result["gate"]["failures"]) + ")"
    if result["version"] is None:
        registered = "Nothing registered."
    else:
        stage = f"stage {', '.join(result['stages'])}" if result["stages"] else "not promoted"
        registered = f"Registered `crnn@{result['version']}`, {stage}."
    return f"Test split and outside set{against}. Gate {verdict}. {registered}"


def inline_picture(path: Path, width: int = 800) -> str:
    """A picture as a data URI small enough for a Prefect event (JPEG, at most `width` px wide)."""
    image = Image.open(path).convert("RGB")
    image.thumbnail((width, 2400))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
