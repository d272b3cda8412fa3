"""The gate stage: the test-split metrics against the thresholds in params.yaml (overall and
per slice); the verdict goes to metrics/gate.json, a DVC metric. A failing model is never
registered (stages/register.py reads the verdict)."""

from __future__ import annotations

import json
from pathlib import Path

from core.files import write_json
from core.params import Gate, Params
from core.paths import METRICS, VERDICT


def gate_failures(metrics: dict, gate: Gate) -> list[str]:
    """Every threshold the metrics miss, named; an empty list passes."""
    scopes = [("overall", gate, metrics)]
    scopes += [(name, thresholds, metrics["slices"][name]) for name, thresholds in gate.slices.items()]
    failures = []
    for scope, thresholds, figures in scopes:
        for metric in ("seq_acc", "char_acc"):
            needed = getattr(thresholds, metric)
            if needed and not figures["n"]:
                failures.append(f"{scope}: no test lines to measure {metric} on")
            elif figures["n"] and figures[metric] < needed:
                failures.append(f"{scope} {metric} {figures[metric]:.4f} < {needed}")
    return failures


def run_gate(params: Params, metrics_path: Path = METRICS, out: Path = VERDICT) -> dict:
    """Write the verdict on metrics_path to out: {passed, failures, thresholds}."""
    metrics = json.loads(Path(metrics_path).read_text(encoding="utf-8"))
    failures = gate_failures(metrics, params.gate)
    verdict = {"passed": not failures, "failures": failures, "thresholds": params.gate.model_dump()}
    write_json(Path(out), verdict)
    return verdict
