"""`make eval-nlu`: each pipeline is scored as served, and one is preferred only when it
leads beyond the seeds' spread (scripts/evaluation/seed_study.py, scripts/evaluation/seed_report.py)."""

import json
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from scripts.evaluation.seed_report import (
    FIGURES,
    comparison,
    grouped,
    intent_report,
    kept,
    lead,
    markdown,
)
from scripts.evaluation.seed_study import REPORT_JSON as SEED_STUDY_JSON
from scripts.evaluation.seed_study import (
    ENCODER,
    banking77_kind,
    candidate_pipeline,
    seeded_config,
    served_label,
    todays_candidate,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_a_candidate_replaces_only_what_lies_between_the_guard_and_the_fallback() -> None:
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    served = config["pipeline"]
    fallback_at = [c["name"] for c in served].index("FallbackClassifier")
    written = yaml.safe_load(seeded_config(ENCODER, 7).read_text())
    expected = candidate_pipeline(ENCODER)
    next(c for c in expected if c["name"] == "DIETClassifier")["random_seed"] = 7
    # Every component after the fallback (domain gate, urgent checks ...) stays, in order.
    assert written["pipeline"] == [served[0], *expected, *served[fallback_at:]]
    assert written["policies"] == config["policies"]


def test_todays_pipeline_is_the_one_the_seed_study_keeps() -> None:
    by = grouped(json.loads(SEED_STUDY_JSON.read_text()))
    today = todays_candidate()
    assert len(by.get(today, [])) >= 3, "config.yml's pipeline was measured over three seeds"
    assert kept(by, today) == today


@pytest.mark.parametrize(
    "row, label",
    [
        ({"expected": "ask_pain", "predicted": "ask_pain", "related": None}, "ask_pain"),
        (
            {"expected": "out_of_scope", "predicted": "nlu_fallback", "related": None},
            "out_of_scope",
        ),
        ({"expected": "ask_pain", "predicted": "nlu_fallback", "related": None}, "out_of_scope"),
        # The honest reply that quotes the expected topic's answer is the expected reply.
        ({"expected": "ask_sun", "predicted": "out_of_scope", "related": "ask_sun"}, "ask_sun"),
        (
            {"expected": "ask_sun", "predicted": "out_of_scope", "related": "ask_pain"},
            "out_of_scope",
        ),
    ],
)
def test_served_label(row: Dict, label: str) -> None:
    assert served_label(row) == label


@pytest.mark.parametrize(
    "intent, kind",
    [
        ("out_of_scope", "honest"),
        ("nlu_fallback", "honest"),
        ("greet", "chit_chat"),
        ("bot_challenge", "chit_chat"),
        ("ask_pain", "false_answer"),
        ("check_candidacy", "false_answer"),
        ("urgent_symptom", "false_urgent"),
        ("ask_capabilities", "other"),
        ("request_booking", "other"),
    ],
)
def test_what_an_everyday_request_got(intent: str, kind: str) -> None:
    assert banking77_kind(intent) == kind


def test_a_lead_within_the_spread_is_no_lead() -> None:
    assert lead([0.90, 0.92, 0.94], [0.93, 0.95, 0.96], 1) is None
    assert lead([0.90, 0.91, 0.92], [0.93, 0.95, 0.96], 1) == "other"
    assert lead([0.10, 0.20], [0.30, 0.40], -1) == "base"


def run(candidate: str, seed: int, **figures: float) -> Dict:
    values = {key: 0.5 for key, *_ in FIGURES}
    values.update(figures)
    return {"candidate": candidate, "seed": seed, **values}


def runs(candidate: str, **figures: List[float]) -> List[Dict]:
    return [
        run(candidate, seed, **{key: values[seed - 1] for key, values in figures.items()})
        for seed in (1, 2, 3)
    ]


def test_a_candidate_that_leads_on_a_deciding_figure_and_trails_on_none_is_preferred() -> None:
    today = runs("today", accuracy=[0.90, 0.91, 0.92])
    better = runs("candidate", accuracy=[0.93, 0.94, 0.95], parse_p95_ms=[9, 9, 9])
    assert comparison(today, better)["preferred"] == ["other"]


def test_a_candidate_that_trails_on_a_deciding_figure_is_not_preferred() -> None:
    today = runs("today", accuracy=[0.90, 0.91, 0.92], urgent_recall=[1.0, 1.0, 1.0])
    mixed = runs("candidate", accuracy=[0.93, 0.94, 0.95], urgent_recall=[0.9, 0.9, 0.95])
    assert comparison(today, mixed)["preferred"] == ["base"]


def test_a_lead_in_costs_alone_decides_nothing() -> None:
    today = runs("today", parse_p95_ms=[20, 21, 22])
    cheaper = runs("candidate", parse_p95_ms=[5, 6, 7])
    found = comparison(today, cheaper)
    assert found["preferred"] == ["base"]
    assert "parse, p95 (ms)" in found["other"]


def test_training_in_under_three_minutes_is_a_requirement() -> None:
    slow = runs("today", train_seconds=[200, 210, 250])
    fast_and_equal = runs("candidate", train_seconds=[100, 101, 110])
    assert comparison(slow, fast_and_equal)["preferred"] == ["other"]
    # Faster, but worse beyond the spread on a deciding figure: not preferred.
    fast_but_worse = runs("candidate", train_seconds=[100, 101, 110], accuracy=[0.1, 0.1, 0.1])
    assert comparison(slow, fast_but_worse)["preferred"] == ["base"]
    # Better, but over the limit when today's meets it: not preferred.
    quick = runs("today", train_seconds=[100, 101, 110])
    slow_but_better = runs("candidate", train_seconds=[200, 210, 250], accuracy=[0.9, 0.9, 0.9])
    assert comparison(quick, slow_but_better)["preferred"] == ["base"]


def test_the_confusion_matrix_sums_each_seeds_replies() -> None:
    seeds = [
        {"heldout": [["ask_pain", "ask_pain"], ["ask_sun", "ask_pain"]]},
        {"heldout": [["ask_pain", "ask_pain"], ["ask_sun", "ask_sun"]]},
    ]
    labels, reports, matrix = intent_report(seeds)
    assert labels == ["ask_pain", "ask_sun"]
    assert matrix.tolist() == [[2, 0], [1, 1]]
    assert [report["ask_sun"]["recall"] for report in reports] == [0.0, 1.0]


def test_the_report_says_which_is_kept() -> None:
    common = {
        "measured": "2026-12-03",
        "commit": "abc1234",
        "frame": ["guard", "(x)", "FallbackClassifier"],
        "load_average_before": 1.0,
        "heldout": [["ask_pain", "ask_pain"]],
        "errors": [],
        "near_domain_answered": [],
        "banking77_false": [["my card?", "ask_pain"]],
        "banking77_kinds": {"false_answer": 1},
        "counts": {"examples": 1, "urgent": 0, "near_domain": 1, "banking77": 1},
    }
    text = markdown([{**r, **common} for r in runs("today") + runs("candidate")], "today")
    assert "at commit `abc1234`" in text
    assert "**Kept: `today`** (against `candidate`)." in text
    assert "| 1 ask_pain | **3** |" in text
    assert "| my card? | ask_pain |" in text
