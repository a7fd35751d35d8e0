"""Train each candidate NLU pipeline once and score it on the held-out set, at each
fallback threshold: the comparison that chose config.yml's DIET features and threshold.

    .venv/bin/python -m scripts.evaluation.compare_pipelines [--only CANDIDATE] [--report-only]

Writes docs/nlu_pipeline_choice.md and docs/nlu_pipeline_choice.json (which
tests/test_pipeline_choice.py holds config.yml to). The NLU alone is trained, with one
seed; `make eval-nlu` (scripts/evaluation/seed_study.py) scores pipelines as served, over seeds.
The held-out file is only ever parsed here and in the tests, never trained on.
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

from scripts.buildtime.build_spacy_model import build_spacy_model
from scripts.evaluation.nlu_evaluation import (
    Prediction,
    accuracy,
    errors,
    load_examples,
    per_intent,
    predict,
    threshold_table,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CANDIDATES_DIR = Path(__file__).resolve().parent / "nlu_candidates"
OUT_DIR = PROJECT_ROOT / "build" / "nlu_candidates"
DOCS = PROJECT_ROOT / "docs"
THRESHOLDS = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
AMBIGUITY = 0.1
TOLERANCE = 0.005
REPORT_JSON = DOCS / "nlu_pipeline_choice.json"
REPORT_MD = DOCS / "nlu_pipeline_choice.md"


def train(candidate: Path) -> float:
    """Train the candidate's NLU model; return the wall-clock seconds it took."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log = OUT_DIR / f"{candidate.stem}.train.log"
    started = time.monotonic()
    # A fresh cache: Rasa would otherwise reuse components and report seconds, not a training.
    with log.open("w") as out, tempfile.TemporaryDirectory() as cache:
        subprocess.run(
            [
                str(Path(sys.executable).parent / "rasa"),
                "train",
                "nlu",
                "--config",
                str(candidate),
                "--nlu",
                "data/nlu",
                "--out",
                str(OUT_DIR),
                "--fixed-model-name",
                candidate.stem,
            ],
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            env={
                **os.environ,
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "RASA_CACHE_DIRECTORY": cache,
            },
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


def choose_threshold(result: Dict) -> Dict:
    """The highest threshold whose accuracy stays within TOLERANCE of the candidate's best.

    A higher threshold sends more unclear questions to the honest "I can't answer that"
    instead of a nearby topic's answer, so it is preferred while accuracy allows.
    """
    best = max(row["accuracy"] for row in result["thresholds"])
    return max(
        (row for row in result["thresholds"] if row["accuracy"] >= best - TOLERANCE),
        key=lambda row: row["threshold"],
    )


def chosen(results: List[Dict]) -> Dict:
    """The candidate with the best held-out accuracy at its chosen threshold."""
    return max(results, key=lambda r: choose_threshold(r)["accuracy"])


def examples_scored(results: List[Dict]) -> int:
    """How many held-out examples the stored run scored (the set has grown since)."""
    return sum(int(row["support"]) for row in results[0]["per_intent"].values())


def markdown(results: List[Dict], examples: int) -> str:
    best = chosen(results)
    lines = [
        "# NLU pipeline comparison",
        "",
        f"Held-out set: `tests/data/nlu_heldout.yml` as it was for this run, {examples} examples "
        "written independently of the training data and never trained on. Reproduce with "
        "`.venv/bin/python -m scripts.evaluation.compare_pipelines` (retrains every candidate's NLU from "
        "scratch, one seed, and rewrites this file). The pipelines as served, over several "
        "seeds: [`nlu_evaluation.md`](nlu_evaluation.md) (`make eval-nlu`).",
        "Accuracy counts a prediction of `out_of_scope` or `nlu_fallback` for an out-of-scope "
        "example as correct (both give the patient the same honest reply).",
        "",
        "| candidate | held-out accuracy, no fallback | training time from scratch (s) | mean parse (ms) "
        "| chosen fallback threshold | held-out accuracy with it |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        pick = choose_threshold(r)
        lines.append(
            f"| {r['candidate']}: {r['description']} | {r['accuracy']:.3f} | "
            f"{r['train_seconds']} | {r['mean_parse_ms']} | {pick['threshold']:.1f} | "
            f"{pick['accuracy']:.3f} |"
        )
    lines += [
        "",
        f"Chosen (best held-out accuracy at its threshold): **{best['candidate']}** with "
        f"FallbackClassifier threshold **{choose_threshold(best)['threshold']:.1f}**; `config.yml` "
        "uses it. A threshold is chosen as the highest whose accuracy stays within "
        f"{TOLERANCE} of the candidate's best, so that unclear questions get the honest "
        "\"I can't answer that\" rather than a nearby topic's answer.",
    ]
    for r in results:
        lines += [
            "",
            f"## FallbackClassifier thresholds for {r['candidate']} (ambiguity threshold {AMBIGUITY})",
            "",
            "| threshold | accuracy | in-scope questions lost to the fallback | out-of-scope caught |",
            "|---|---|---|---|",
        ]
        for row in r["thresholds"]:
            lines.append(
                f"| {row['threshold']:.1f} | {row['accuracy']:.3f} | "
                f"{row['in_scope_lost_to_fallback']:.3f} | {row['out_of_scope_caught']:.3f} |"
            )
    lines += [
        "",
        f"## Per intent for {best['candidate']} (no fallback)",
        "",
        "| intent | precision | recall | support |",
        "|---|---|---|---|",
    ]
    for intent, row in best["per_intent"].items():
        lines.append(
            f"| {intent} | {row['precision']:.2f} | {row['recall']:.2f} | {row['support']} |"
        )
    lines += [
        "",
        f"## Misclassified held-out examples for {best['candidate']} (no fallback)",
        "",
        "| text | expected | predicted |",
        "|---|---|---|",
    ]
    for text, expected, predicted in best["errors"]:
        lines.append(f"| {text} | {expected} | {predicted} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if "--report-only" in sys.argv:
        # Rewrite the markdown from the last run's figures, without retraining.
        results = json.loads(REPORT_JSON.read_text())
        REPORT_MD.write_text(markdown(results, examples_scored(results)))
        return
    logging.disable(logging.WARNING)
    build_spacy_model()
    candidates = sorted(CANDIDATES_DIR.glob("*.yml"))
    results = []
    if "--only" in sys.argv:
        # Score one candidate and keep the others' figures from the last run.
        name = sys.argv[sys.argv.index("--only") + 1]
        candidates = [c for c in candidates if c.stem == name]
        results = [r for r in json.loads(REPORT_JSON.read_text()) if r["candidate"] != name]
    for candidate in candidates:
        print(f"Training and scoring {candidate.stem} ...", flush=True)
        results.append(evaluate(candidate))
        print(
            f"  accuracy {results[-1]['accuracy']:.3f}, trained in {results[-1]['train_seconds']}s",
            flush=True,
        )
    DOCS.mkdir(exist_ok=True)
    results.sort(key=lambda r: r["candidate"])
    REPORT_JSON.write_text(json.dumps(results, indent=2) + "\n")
    REPORT_MD.write_text(markdown(results, len(load_examples())))
    print(f"Wrote {REPORT_MD.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
