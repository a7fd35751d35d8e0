"""The check's decisions as pure functions: outcomes, answers, the reply, the rules file."""

from pathlib import Path
from typing import List, Optional, Tuple

import pytest
import yaml

from clinic.article import ungrounded_sentences
from clinic.constants import CHECK_WITH_DOCTOR, NO_CONTRAINDICATION, NOT_RECOMMENDED, POSTPONE
from clinic.contraindication_rules import RULES_PATH, RulesError, load_rules, parse_rules
from clinic.extraction import Extractor, default_extractor
from clinic.screening import (
    NO,
    UNSURE,
    YES,
    answer_question,
    answered_questions,
    assess,
    from_slot,
    is_question,
    next_question,
    reply_text,
    to_slot,
    unread_reply,
    yes_no_unsure,
)

RULES = load_rules()


@pytest.mark.parametrize(
    "findings, outcome",
    [
        ([], NO_CONTRAINDICATION),
        ([("rosacea", "current")], NOT_RECOMMENDED),
        ([("sensitive_skin", "current")], NOT_RECOMMENDED),
        ([("active_acne", "current")], POSTPONE),
        ([("drying_medication", "current")], CHECK_WITH_DOCTOR),
        ([("other_medication", "current")], CHECK_WITH_DOCTOR),
        ([("eczema", "past")], CHECK_WITH_DOCTOR),
        ([("psoriasis", "unsure")], CHECK_WITH_DOCTOR),
        ([("active_acne", "past")], NO_CONTRAINDICATION),
        ([("active_acne", "unsure")], CHECK_WITH_DOCTOR),
        ([("drying_medication", "current"), ("active_acne", "current")], POSTPONE),
        (
            [("drying_medication", "current"), ("active_acne", "current"), ("eczema", "current")],
            NOT_RECOMMENDED,
        ),
    ],
)
def test_the_strongest_outcome_wins(findings: List[Tuple[str, str]], outcome: str) -> None:
    assert assess(RULES, findings).outcome == outcome


def test_every_reason_is_kept_strongest_first() -> None:
    assessment = assess(
        RULES,
        [("drying_medication", "current"), ("rosacea", "current"), ("active_acne", "current")],
    )
    assert [r.condition for r in assessment.reasons] == [
        "rosacea",
        "active_acne",
        "drying_medication",
    ]


def test_the_reply_names_the_label_every_reason_its_sentence_and_the_contact() -> None:
    assessment = assess(RULES, [("rosacea", "current"), ("drying_medication", "current")])
    text = reply_text(RULES, assessment, "Call us.")
    assert text.startswith("Result of the check: Not recommended.")
    assert "rosacea" in text and "a medication that can dry the skin" in text
    assert RULES.conditions["rosacea"].article in text
    assert RULES.conditions["drying_medication"].article in text
    assert text.endswith("Call us.")


def test_past_and_unsure_findings_point_to_the_doctor() -> None:
    text = reply_text(RULES, assess(RULES, [("eczema", "past")]), "")
    assert "Check with your doctor first" in text and RULES.doctor_sentence in text


def test_no_contraindication_is_not_a_clearance() -> None:
    text = reply_text(RULES, assess(RULES, []), "")
    assert text.startswith("Result of the check: No contraindication found.")
    assert "not a medical clearance" in text and "clinician" in text


@pytest.mark.parametrize(
    "text, kind",
    [
        ("yes", YES),
        ("Yep!", YES),
        ("i do", YES),
        ("no", NO),
        ("nope", NO),
        ("none of those", NO),
        ("not sure", UNSURE),
        ("idk", UNSURE),
        ("maybe", UNSURE),
        ("I don't know", UNSURE),
        ("purple", None),
        ("does it hurt?", None),
        # A firm no first, then "a bit" of something else: the no is the answer (simulated
        # patients); "a bit" in the answer itself, or doubt anywhere, is not sure.
        (
            "No, I've never had any of those. My skin gets a bit dry in winter but a normal "
            "moisturiser sorts it out.",
            NO,
        ),
        ("no, it gets a bit pink after a hot shower but products don't bother me", NO),
        ("a bit", UNSURE),
        ("no, but maybe a little", UNSURE),
        ("not really, a little sometimes", UNSURE),
        ("no idea", UNSURE),
    ],
)
def test_short_answers(text: str, kind: Optional[str]) -> None:
    assert yes_no_unsure(text) == kind


@pytest.mark.parametrize(
    "question, text, answered, findings",
    [
        ("skin_condition", "yes", True, [("eczema_psoriasis_or_rosacea", "current")]),
        ("skin_condition", "just rosacea", True, [("rosacea", "current")]),
        ("skin_condition", "no", True, []),
        ("skin_condition", "no eczema", True, []),
        ("skin_condition", "not sure", True, [("eczema_psoriasis_or_rosacea", "unsure")]),
        # Eczema is chronic: had as a kid is current unless it went.
        ("skin_condition", "I had eczema as a kid", True, [("eczema", "current")]),
        ("skin_condition", "I had eczema as a kid, none since", True, [("eczema", "past")]),
        (
            "skin_condition",
            "yes, I was diagnosed with rosacea a few years ago",
            True,
            [("rosacea", "current")],
        ),
        ("skin_condition", "purple", False, []),
        ("breakout", "yes", True, [("active_acne", "current")]),
        ("medication", "yes", True, [("other_medication", "current")]),
        ("medication", "tretinoin", True, [("drying_medication", "current")]),
        # An answer about another question is kept, and this one is asked again.
        ("skin_condition", "I'm on accutane", False, [("drying_medication", "current")]),
        # Someone else's condition, and not the patient's: an answer (issue 11's loop).
        ("skin_condition", "my sister has eczema but I don't", True, []),
        ("skin_condition", "my mum has rosacea", False, []),
        (
            "breakout",
            "had acne as a teenager, clear for years now",
            True,
            [("active_acne", "past")],
        ),
        (
            "sensitive_skin",
            "not sure, some creams sting a little",
            True,
            [("sensitive_skin", "unsure")],
        ),
    ],
)
def test_answers_to_questions(
    question: str, text: str, answered: bool, findings: List[Tuple[str, str]]
) -> None:
    mentions = default_extractor().mentions(text)
    assert answer_question(RULES, question, text, mentions) == (answered, findings)


@pytest.mark.parametrize(
    "text, question",
    [
        ("wait, does it hurt?", True),
        ("how long is the recovery", True),
        ("what about sun", True),
        ("is that bad?", True),
        ("no", False),
        ("my sister has eczema but I don't", False),
        ("some creams sting a little", False),
        ("i do", False),
        ("I am on accutane", False),
        ("am i allowed if i'm on accutane", True),
    ],
)
def test_a_question_back_is_told_from_an_answer(text: str, question: bool) -> None:
    assert is_question(text) == question


def test_a_second_reply_it_cannot_read_records_not_sure_and_moves_on() -> None:
    findings, answered = [("rosacea", "past")], ["skin_condition"]
    assert unread_reply(RULES, "sensitive_skin", findings, answered, 1) == (
        False,
        findings,
        answered,
    )
    assert unread_reply(RULES, "sensitive_skin", findings, answered, 2) == (
        True,
        [("rosacea", "past"), ("sensitive_skin", "unsure")],
        ["skin_condition", "sensitive_skin"],
    )


def test_questions_already_answered_are_skipped() -> None:
    answered = answered_questions(RULES, [("rosacea", "current"), ("drying_medication", "past")])
    assert answered == ["skin_condition", "medication"]
    assert next_question(RULES, answered) == "sensitive_skin"
    assert next_question(RULES, list(RULES.questions)) is None


def test_slot_values_round_trip_and_junk_is_dropped() -> None:
    findings = [("rosacea", "current"), ("eczema", "past")]
    assert from_slot(to_slot(findings), RULES) == findings
    assert from_slot(["rosacea:current", "outcome:No contraindication found", "x", 3], RULES) == [
        ("rosacea", "current")
    ]


def test_the_committed_rules_quote_the_article() -> None:
    for condition in RULES.conditions.values():
        assert not ungrounded_sentences(condition.article), condition.key


def _raw() -> dict:
    return yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r["conditions"]["rosacea"].update(outcome="Maybe"), "'outcome' is 'Maybe'"),
        (
            lambda r: r["conditions"]["rosacea"].update(article="Microneedling cures rosacea."),
            "not a sentence of the article",
        ),
        (
            lambda r: r["conditions"]["eczema"].update(synonyms=["rosacea"]),
            "synonym 'rosacea' is also listed under",
        ),
        (lambda r: r["conditions"]["eczema"].update(question="diet"), "question 'diet' is not"),
        (lambda r: r.update(outcomes=["Postpone"]), "outcomes must be exactly"),
        (lambda r: r["questions"]["breakout"].update(yes_means="spots"), "yes_means 'spots'"),
        (lambda r: r["next_steps"].pop("Postpone"), "next_steps: 'Postpone'"),
    ],
)
def test_rule_file_mistakes_are_named(change, message: str) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(RulesError, match=message):
        parse_rules(raw)


def test_a_clinic_adds_a_condition_by_editing_the_file_only(tmp_path: Path) -> None:
    raw = _raw()
    raw["questions"]["pregnancy"] = {"text": "Are you pregnant?", "yes_means": "pregnancy"}
    raw["conditions"]["pregnancy"] = {
        "name": "pregnancy",
        "question": "pregnancy",
        "outcome": CHECK_WITH_DOCTOR,
        "when_past": "none",
        "when_unsure": CHECK_WITH_DOCTOR,
        "article": "Your doctor can go over any risks that are particular to you.",
        "synonyms": ["pregnant", "pregnancy", "expecting a baby"],
    }
    path = tmp_path / "contraindications.yml"
    path.write_text(yaml.safe_dump(raw))
    rules = load_rules(path)
    extractor = Extractor.for_rules(rules)
    findings = [(m.condition, m.status) for m in extractor.mentions("I'm pregnant, can I get it?")]
    assert assess(rules, findings).outcome == CHECK_WITH_DOCTOR
    # The screening asks the new question after the existing ones.
    assert next_question(rules, list(RULES.questions)) == "pregnancy"
