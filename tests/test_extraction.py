"""What the extractor reads from patients' words, and how well on the labelled sets."""

from collections import Counter
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
import yaml

from clinic.contraindication_rules import load_rules
from clinic.extraction import (
    ExtractionTermsError,
    correct_typos,
    default_extractor,
    extract_findings,
    load_lay_context,
)
from clinic.screening import assess

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
# Written by people who never saw the extractor: the first was used while building it,
# the second first only to measure it (its few errors were fixed afterwards).
LABELLED_SETS = ["screening_cases.yml", "screening_cases_blind.yml"]
MIN_PRECISION = 0.85
MIN_RECALL = 0.85
MIN_OUTCOME_ACCURACY = 0.95


@pytest.mark.parametrize(
    "text, expected",
    [
        # negation
        ("I have rosacea but no eczema", {("rosacea", "current")}),
        ("never had psoriasis", set()),
        ("none of those", set()),
        ("nope", set()),
        ("no eczema, psoriasis or rosacea, and no meds", set()),
        ("my skin isn't sensitive at all", set()),
        # someone else
        ("my mom has eczema", set()),
        ("my mom has eczema, i have rosacea", {("rosacea", "current")}),
        ("my mom has eczema and so do I", {("eczema", "current")}),
        # past
        ("I had eczema as a kid but it's gone now", {("eczema", "past")}),
        ("I used to be on accutane", {("drying_medication", "past")}),
        ("I'm not on accutane anymore", {("drying_medication", "past")}),
        ("I've had eczema for years", {("eczema", "current")}),
        # uncertain
        ("I think I might have rosacea", {("rosacea", "unsure")}),
        ("not sure if it's eczema", {("eczema", "unsure")}),
        # hypothetical and general questions
        ("what if I get a breakout?", set()),
        ("can people with eczema get it?", set()),
        ("does psoriasis matter for microneedling?", set()),
        ("will my skin be sensitive after the treatment?", set()),
        # lay words and typos
        ("exzema", {("eczema", "current")}),
        ("psoriasis on my elbows", {("psoriasis", "current")}),
        ("my skin reacts to everything", {("sensitive_skin", "current")}),
        ("i'm breaking out", {("active_acne", "current")}),
        ("pimples all over my chin", {("active_acne", "current")}),
        ("I'm on Accutane", {("drying_medication", "current")}),
        ("I use a retinol cream", {("drying_medication", "current")}),
        ("psoraisis", {("psoriasis", "current")}),
        # look-alikes that are not findings
        ("will it fade my dark spots", set()),
        ("I have acne scars", set()),
        ("I'm sensitive to pain", set()),
        # several in one sentence
        (
            "I have eczema and I'm on accutane and breaking out",
            {("eczema", "current"), ("drying_medication", "current"), ("active_acne", "current")},
        ),
    ],
)
def test_extraction(text: str, expected: Set[Tuple[str, str]]) -> None:
    assert set(extract_findings(text)) == expected


def test_typo_correction_keeps_the_first_letter() -> None:
    vocabulary = {"pimples": "pimples", "eczema": "eczema", "psoriasis": "psoriasis"}
    assert correct_typos("my psoraisis and eczama", vocabulary) == "my psoriasis and eczema"
    assert correct_typos("I have dimples", vocabulary) == "I have dimples"


def _score(cases: List[Dict]) -> Tuple[Dict[str, Dict[str, float]], float]:
    rules, extractor = load_rules(), default_extractor()
    true_pos: Counter = Counter()
    false_pos: Counter = Counter()
    false_neg: Counter = Counter()
    right_outcomes = 0
    for case in cases:
        gold = {(f["condition"], f["status"]) for f in case["findings"]}
        found = set(extract_findings(case["text"], extractor))
        for condition, _ in found & gold:
            true_pos[condition] += 1
        for condition, _ in found - gold:
            false_pos[condition] += 1
        for condition, _ in gold - found:
            false_neg[condition] += 1
        right_outcomes += assess(rules, found).outcome == case["outcome"]
    report = {}
    for condition in sorted(set(true_pos) | set(false_pos) | set(false_neg)):
        tp, fp, fn = true_pos[condition], false_pos[condition], false_neg[condition]
        report[condition] = {
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "support": tp + fn,
        }
    return report, right_outcomes / len(cases)


@pytest.mark.parametrize("name", LABELLED_SETS)
def test_labelled_set_precision_and_recall(name: str) -> None:
    cases = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["cases"]
    report, outcome_accuracy = _score(cases)
    print(f"\n{name}: {len(cases)} sentences, outcome accuracy {outcome_accuracy:.3f}")
    for condition, row in report.items():
        print(
            f"  {condition:18} precision {row['precision']:.2f}  recall {row['recall']:.2f}"
            f"  (n={row['support']})"
        )
    assert len(report) == 7, "every finding type must be in the set"
    for condition, row in report.items():
        assert row["precision"] >= MIN_PRECISION, condition
        assert row["recall"] >= MIN_RECALL, condition
    assert outcome_accuracy >= MIN_OUTCOME_ACCURACY


def test_the_labelled_sets_are_big_enough() -> None:
    sizes = [len(yaml.safe_load((DATA / n).read_text())["cases"]) for n in LABELLED_SETS]
    assert sum(sizes) >= 80 and min(sizes) >= 60, sizes


def test_the_term_table_is_read_from_its_file() -> None:
    terms = load_lay_context()
    assert ("not sure if", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL") in terms
    assert ("none", "NEGATED_EXISTENCE", "FORWARD") in terms  # quoted: not YAML's null


@pytest.mark.parametrize(
    "text, problem",
    [
        ("lay_context: [\n", "not valid YAML"),
        ("lay_context: []\n", "expected a 'lay_context:' list"),
        ("lay_context:\n  - [no, NEGATED_EXISTENCE, FORWARD]\n", "entry 1: [False, "),
        ('lay_context:\n  - ["not", NEGATED, BACKWARD]\n', "category 'NEGATED' is not"),
        ('lay_context:\n  - ["not", NEGATED_EXISTENCE, BACK]\n', "direction 'BACK' is not"),
    ],
)
def test_a_broken_term_table_names_its_file_and_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "extraction_terms.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExtractionTermsError, match=str(path)) as error:
        load_lay_context(path)
    assert problem in str(error.value)
