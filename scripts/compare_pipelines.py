"""Train each candidate NLU pipeline and score it on the held-out set (`make eval-nlu`).

Writes docs/nlu_evaluation.md and docs/nlu_evaluation.json. The held-out file is only
ever parsed here and in the tests, never trained on.
"""

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from scripts.build_spacy_model import build_spacy_model
from scripts.nlu_evaluation import (
    Prediction, accuracy, errors, load_examples, per_intent, predict, threshold_table,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CANDIDATES_DIR = PROJECT_ROOT / "scripts" / "nlu_candidates"
OUT_DIR = PROJECT_ROOT / "build" / "nlu_candidates"
DOCS = PROJECT_ROOT / "docs"
THRESHOLDS = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
AMBIGUITY = 0.1


def train(candidate: Path) -> float:
    """Train the candidate's NLU model; return the wall-clock seconds it took."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log = OUT_DIR / f"{candidate.stem}.train.log"
    started = time.monotonic()
    # A fresh cache: Rasa would otherwise reuse components and report seconds, not a training.
    with log.open("w") as out, tempfile.TemporaryDirectory() as cache:
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(candidate),
             "--nlu", "data/nlu", "--out", str(OUT_DIR), "--fixed-model-name", candidate.stem],
            cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, check=True,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
                 "RASA_CACHE_DIRECTORY": cache},
        )
    return time.monotonic() - started


def evaluate(candidate: Path) -> Dict:
    seconds = train(candidate)
    started = time.monotonic()
    predictions: List[Prediction] = predict(OUT_DIR / f"{candidate.stem}.tar.gz", load_examples())
    parse_ms = 1000 * (time.monotonic() - started) / len(predictions)
    return {
        "candidate": candidate.stem,
        "description": candidate.read_text().splitlines()[0].lstrip("# "),
        "train_seconds": round(seconds, 1),
        "mean_parse_ms": round(parse_ms, 1),
        "accuracy": accuracy(predictions),
        "thresholds": threshold_table(predictions, THRESHOLDS, AMBIGUITY),
        "per_intent": per_intent(predictions),
        "errors": [(p.text, p.expected, p.predicted) for p in errors(predictions)],
    }


def markdown(results: List[Dict], examples: int) -> str:
    best = max(results, key=lambda r: r["accuracy"])
    lines = [
        "# NLU pipeline comparison",
        "",
        f"Held-out set: `tests/nlu_heldout.yml`, {examples} examples written independently of the "
        "training data and never trained on. Reproduce with `make eval-nlu` (writes this file).",
        "Accuracy counts a prediction of `out_of_scope` for an out-of-scope example as correct; "
        "candidates are scored without the FallbackClassifier, whose threshold is chosen below.",
        "",
        "| candidate | held-out intent accuracy | training time (s) | mean parse (ms) |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['candidate']}: {r['description']} | {r['accuracy']:.3f} | "
                     f"{r['train_seconds']} | {r['mean_parse_ms']} |")
    lines += [
        "",
        f"Best on held-out accuracy: **{best['candidate']}**.",
        "",
        f"## FallbackClassifier threshold for {best['candidate']} (ambiguity threshold {AMBIGUITY})",
        "",
        "| threshold | accuracy | in-scope questions lost to the fallback | out-of-scope caught |",
        "|---|---|---|---|",
    ]
    for row in best["thresholds"]:
        lines.append(f"| {row['threshold']:.1f} | {row['accuracy']:.3f} | "
                     f"{row['in_scope_lost_to_fallback']:.3f} | {row['out_of_scope_caught']:.3f} |")
    lines += ["", f"## Per intent for {best['candidate']}", "",
              "| intent | precision | recall | support |", "|---|---|---|---|"]
    for intent, row in best["per_intent"].items():
        lines.append(f"| {intent} | {row['precision']:.2f} | {row['recall']:.2f} | {row['support']} |")
    lines += ["", f"## Misclassified held-out examples for {best['candidate']}", "",
              "| text | expected | predicted |", "|---|---|---|"]
    for text, expected, predicted in best["errors"]:
        lines.append(f"| {text} | {expected} | {predicted} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    logging.disable(logging.WARNING)
    build_spacy_model()
    candidates = sorted(CANDIDATES_DIR.glob("*.yml"))
    results = []
    for candidate in candidates:
        print(f"Training and scoring {candidate.stem} ...", flush=True)
        results.append(evaluate(candidate))
        print(f"  accuracy {results[-1]['accuracy']:.3f}, trained in {results[-1]['train_seconds']}s",
              flush=True)
    DOCS.mkdir(exist_ok=True)
    (DOCS / "nlu_evaluation.json").write_text(json.dumps(results, indent=2) + "\n")
    (DOCS / "nlu_evaluation.md").write_text(markdown(results, len(load_examples())))
    print("Wrote docs/nlu_evaluation.md")


if __name__ == "__main__":
    main()
