"""config.yml runs the pipeline and fallback threshold the held-out comparison chose."""

import json
from pathlib import Path

import yaml

from scripts.evaluation.compare_pipelines import (
    CANDIDATES_DIR,
    REPORT_JSON,
    choose_threshold,
    chosen,
)
from scripts.evaluation.seed_report import grouped, kept
from scripts.evaluation.seed_study import REPORT_JSON as SEED_STUDY_JSON
from scripts.evaluation.seed_study import todays_candidate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_config_uses_the_measured_choice() -> None:
    # The one-seed comparison chose the features and the fallback threshold; the seed study
    # (docs/nlu_evaluation.json, tests/test_seed_study.py) chose DIET's size after it.
    best = chosen(json.loads(REPORT_JSON.read_text()))
    served = todays_candidate()
    assert kept(grouped(json.loads(SEED_STUDY_JSON.read_text())), served) == served
    candidate = yaml.safe_load((CANDIDATES_DIR / f"{served}.yml").read_text())
    features = yaml.safe_load((CANDIDATES_DIR / f"{best['candidate']}.yml").read_text())
    assert [c for c in candidate["pipeline"] if c["name"] != "DIETClassifier"] == [
        c for c in features["pipeline"] if c["name"] != "DIETClassifier"
    ]
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    # The input guard comes first, then the measured pipeline and its fallback, the check
    # of the trained urgent intent, the domain gate, the answerability check, what is
    # about the patient, and the urgent-symptom safety net last.
    guard, *pipeline, fallback, trained_urgent, gate, answerability, statements, safety_net = (
        config["pipeline"]
    )
    assert gate["name"] == "nlu_components.domain_gate.DomainGate"
    assert guard["name"] == "nlu_components.input_guard.InputGuard"
    assert answerability["name"] == "nlu_components.answerability.AnswerabilityClassifier"
    assert statements["name"] == "nlu_components.about_the_patient.AboutThePatientClassifier"
    assert safety_net["name"] == "nlu_components.urgent_symptoms.UrgentSymptomClassifier"
    assert pipeline == candidate["pipeline"]
    assert fallback["name"] == "FallbackClassifier"
    assert trained_urgent["name"] == "nlu_components.urgent_symptoms.TrainedUrgentCheck"
    assert trained_urgent["threshold"] == fallback["threshold"]
    assert fallback["threshold"] == choose_threshold(best)["threshold"]
