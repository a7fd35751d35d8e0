"""Every factual sentence the bot says about microneedling must come from the clinic's article.

The article's answers are built from the article (clinic/answers.py, knowledge/answers.yml):
each names the sentences it quotes by section and opening words. These tests check that the
built answers are those sentences, that an edited article changes them, that a sentence
gone stops the build naming the answer, and every other quotation of the article."""

import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import yaml

from clinic.answers import (
    ANSWERS_PATH,
    LITERAL,
    AnswersError,
    AnswerPart,
    Reference,
    Variant,
    grounding_problems,
    load_answers,
    with_article_answers,
)
from clinic.article import ARTICLE_PATH, article_sentences, normalise, ungrounded_sentences
from clinic.contraindication_rules import load_rules
from scripts.buildtime.build_domain import SMS_MORE_PROMPT

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ARTICLE_PATH.read_text(encoding="utf-8")
RAW_ANSWERS: Dict[str, Dict[str, List[Dict[str, Any]]]] = yaml.safe_load(
    ANSWERS_PATH.read_text(encoding="utf-8")
)["answers"]

# Responses that say nothing about microneedling itself: conversation and clinic contact.
EXEMPT = {
    "utter_greet",
    "utter_goodbye",
    "utter_you_are_welcome",
    "utter_disclaimer",
    "utter_message_truncated",
    "utter_typed_command",
    "utter_no_words",
    "utter_english_only",
    "utter_english_only_named",
    "utter_actions_unavailable",
    "utter_records_unavailable",
    "utter_capabilities",
    "utter_menu",
    "utter_cannot_answer",
    "utter_booking",
    "utter_human",
    "utter_screening_stopped",
    "utter_nothing_to_stop",
    "utter_answer_without_question",
    "utter_urgent",
    "utter_upset",
    "utter_confirm_deletion",
    "utter_deletion_cancelled",
    "utter_ask_callback",
    "utter_callback_agreed",
    "utter_callback_declined",
}


# SMS_MORE_PROMPT: the one sentence an SMS variant may add, the prompt for the full answer
# (channels/twilio.py); scripts/buildtime/build_domain.py leaves it out of "what it does say" quotes.


def domain_yml() -> Dict[str, Any]:
    loaded: Dict[str, Any] = yaml.safe_load(
        (PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8")
    )
    return loaded


def responses() -> Dict[str, List[str]]:
    """Every variant's text (web and SMS) as build/domain has it, the SMS prompt left out."""
    domain = with_article_answers(domain_yml())
    return {
        name: [
            variant["text"].replace(SMS_MORE_PROMPT, "").strip()
            for variant in variants
            if "text" in variant
        ]
        for name, variants in domain["responses"].items()
    }


GROUNDED = sorted(name for name in responses() if name not in EXEMPT)


def test_every_topic_has_a_grounded_answer_built_from_the_article() -> None:
    assert len(GROUNDED) == 13, GROUNDED
    # Every one is built from knowledge/answers.yml; domain.yml writes none of them.
    assert set(GROUNDED) == set(load_answers()) == set(RAW_ANSWERS)
    assert not set(GROUNDED) & set(domain_yml()["responses"])


def test_exempt_responses_exist() -> None:
    assert EXEMPT <= set(responses()), EXEMPT - set(responses())


@pytest.mark.parametrize("response", GROUNDED)
def test_response_sentences_come_from_the_article(response: str) -> None:
    for text in responses()[response]:
        ungrounded = ungrounded_sentences(text)
        assert not ungrounded, f"{response} says what the article does not: {ungrounded}"


def test_the_sms_more_prompt_is_what_the_sms_variants_say() -> None:
    answers = ANSWERS_PATH.read_text(encoding="utf-8")
    assert answers.count("Reply MORE") == answers.count(SMS_MORE_PROMPT) > 0


def test_the_only_text_not_from_the_article_is_the_sms_prompt_at_the_end() -> None:
    literals = [
        (name, variant, number, len(entries), entry[LITERAL])
        for name, variants in RAW_ANSWERS.items()
        for variant, entries in variants.items()
        for number, entry in enumerate(entries, 1)
        if LITERAL in entry
    ]
    assert literals
    for name, variant, number, count, text in literals:
        assert (variant, number, text) == ("sms", count, SMS_MORE_PROMPT), (name, variant, number)


def article_sentence(section: str, starts: str, article: str = ARTICLE) -> str:
    """The sentence a reference names, found here without clinic/answers.py: in the lines
    after the heading and before the next line that is no sentence (the next heading)."""
    lines = [line.strip() for line in article.splitlines()]
    first = lines.index(section) + 1
    rest = lines[first:]
    ends = [i for i, line in enumerate(rest) if line and not line.endswith((".", "!"))]
    body = " ".join(line for line in (rest[: ends[0]] if ends else rest) if line)
    found = re.findall(r"(?:^|(?<=[.!?] ))(" + re.escape(starts) + r"[^.!?]*[.!?])", body)
    assert len(found) == 1, (section, starts, found)
    return str(found[0])


def quoted_parts() -> List[Tuple[str, str, str, Dict[str, Any]]]:
    """(response, variant, the built sentence, its entry in knowledge/answers.yml)."""
    built = load_answers()
    rows = []
    for name, variants in RAW_ANSWERS.items():
        for variant in built[name]:
            entries = variants[variant.name]
            sentences = [part.text for part in variant.parts]
            assert len(sentences) == len(entries), (name, variant.name)
            rows += [(name, variant.name, text, entry) for text, entry in zip(sentences, entries)]
    return rows


def test_the_built_answers_are_the_sentences_they_reference() -> None:
    rows = quoted_parts()
    assert len(rows) > 40
    for name, variant, text, entry in rows:
        if LITERAL in entry:
            assert text == entry[LITERAL]
            continue
        original = article_sentence(entry["section"], entry["starts"])
        if not entry.get("drop"):
            # The whole sentence as the article says it (its one typo fixed).
            assert text == original.replace("tiny needs", "tiny needles"), (name, variant, text)
        else:
            assert normalise(text) == normalise(original) and len(text) < len(original), (
                name,
                variant,
            )
            assert text[0].isupper() and text[-1] == original[-1], (name, variant, text)
    # The whole variant is its sentences in order, joined by spaces.
    for name, variants in load_answers().items():
        for built in variants:
            assert built.text == " ".join(part.text for part in built.parts)
            assert built.as_response()["text"] == built.text


def test_the_built_domain_has_the_built_answers(tmp_path: Path) -> None:
    from scripts.buildtime.build_domain import build_domain

    domain = yaml.safe_load((build_domain(tmp_path) / "domain.yml").read_text(encoding="utf-8"))
    for name, variants in load_answers().items():
        *built, spoken = domain["responses"][name]
        assert built == [variant.as_response() for variant in variants]
        # The phone line's variant: the answer's first sentences, in the article's words.
        assert spoken["channel"] == "twilio_voice" and variants[0].text.startswith(spoken["text"])
        assert not ungrounded_sentences(spoken["text"])
    assert list(domain["responses"])[: len(RAW_ANSWERS)] == list(RAW_ANSWERS)


def edited_article(tmp_path: Path, old: str, new: str) -> Path:
    assert ARTICLE.count(old) == 1, old
    path = tmp_path / "article.txt"
    path.write_text(ARTICLE.replace(old, new), encoding="utf-8")
    return path


def test_rewording_a_quoted_sentence_changes_the_answer(tmp_path: Path) -> None:
    old = "You may feel some pressure and warmth but not much discomfort."
    new = "You may feel some pressure and warmth, and a little tingling, but not much discomfort."
    answers = load_answers(article_path=edited_article(tmp_path, old, new))
    [pain] = answers["utter_pain"]
    assert new in pain.text and old not in pain.text
    assert pain.text.startswith("You will get a topical numbing cream before the procedure. ")
    assert load_answers()["utter_pain"][0].text != pain.text
    domain = with_article_answers(domain_yml(), article_path=tmp_path / "article.txt")
    assert domain["responses"]["utter_pain"] == [{"text": pain.text}]


def test_a_reworded_sentence_keeps_its_light_edits_where_they_still_apply(tmp_path: Path) -> None:
    old = "However, be careful when you go out in the sun afterward."
    new = "However, be careful when you go out in the sun for a week afterward."
    answers = load_answers(article_path=edited_article(tmp_path, old, new))
    web, sms = answers["utter_side_effects"]
    assert new in web.text
    assert "Be careful when you go out in the sun for a week afterward." in sms.text
    assert sms.text.endswith(SMS_MORE_PROMPT)


def problems_of(tmp_path: Path, old: str, new: str = "") -> str:
    with pytest.raises(AnswersError) as raised:
        with_article_answers(domain_yml(), article_path=edited_article(tmp_path, old, new))
    return str(raised.value)


def test_deleting_a_quoted_sentence_stops_the_build_naming_the_answer(tmp_path: Path) -> None:
    message = problems_of(
        tmp_path, "You may feel some pressure and warmth but not much discomfort. "
    )
    assert message.startswith("knowledge/answers.yml has 1 problem(s):")
    assert (
        'utter_pain (default), sentence 2: section "Is Microneedling Uncomfortable or Painful?" '
        'has no sentence starting "You may feel some pressure"'
    ) in message


REFERENCED = sorted(
    {
        (entry["section"], entry["starts"])
        for variants in RAW_ANSWERS.values()
        for entries in variants.values()
        for entry in entries
        if LITERAL not in entry
    }
)


@pytest.mark.parametrize("section, starts", REFERENCED, ids=[starts for _, starts in REFERENCED])
def test_each_quoted_sentence_deleted_names_every_answer_quoting_it(
    tmp_path: Path, section: str, starts: str
) -> None:
    message = problems_of(tmp_path, article_sentence(section, starts))
    quoting = {
        f"{name} ({variant})"
        for name, variants in RAW_ANSWERS.items()
        for variant, entries in variants.items()
        if any(entry.get("starts") == starts for entry in entries)
    }
    named = set(re.findall(r"^  - (\w+ \(\w+\)), sentence \d+: ", message, re.MULTILINE))
    assert named == quoting, message
    assert f'has no sentence starting "{starts}"' in message


def test_a_renamed_heading_is_named_with_the_articles_headings(tmp_path: Path) -> None:
    message = problems_of(tmp_path, "Is Microneedling Uncomfortable or Painful?", "Does It Hurt?")
    assert (
        "utter_pain (default), sentence 1: the article has no section headed "
        '"Is Microneedling Uncomfortable or Painful?"' in message
    )
    assert "utter_side_effects (sms), sentence 2" in message
    assert '"Does It Hurt?"' in message.split("The article's headings:")[1]


def test_two_sentences_opening_alike_are_named_as_ambiguous(tmp_path: Path) -> None:
    old = "You may feel some pressure and warmth but not much discomfort."
    message = problems_of(tmp_path, old, old + " You may feel some pressure for an hour afterward.")
    assert (
        "utter_pain (default), sentence 2: 2 sentences of section "
        '"Is Microneedling Uncomfortable or Painful?" start "You may feel some pressure": '
        "give more of its opening words"
    ) in message


def test_an_answer_written_in_domain_yml_too_is_refused() -> None:
    domain = domain_yml()
    domain["responses"]["utter_pain"] = [{"text": "Microneedling is painless."}]
    with pytest.raises(AnswersError, match="utter_pain also written in domain.yml"):
        with_article_answers(domain)


def test_an_edited_article_or_answers_file_rebuilds_the_domain() -> None:
    # make's build/domain rule (run by make run and make test) depends on both files.
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^([A-Z_]+) := (.*)$", makefile, re.MULTILINE))
    rules = " ".join(re.findall(r"^build/domain: (.*)$", makefile, re.MULTILINE))
    inputs = re.sub(
        r"\$\(([A-Z_]+)\)", lambda m: variables.get(m.group(1), m.group(0)), rules
    ).split()
    for path in (ARTICLE_PATH, ANSWERS_PATH):
        assert str(path.relative_to(PROJECT_ROOT)) in inputs, path


def test_a_quote_the_article_does_not_say_is_caught_at_build_time() -> None:
    reference = Reference("Is Microneedling Uncomfortable or Painful?", "You may feel")
    invented = Variant(
        "utter_pain",
        "default",
        (
            AnswerPart("You will get a topical numbing cream before the procedure.", reference),
            AnswerPart("Microneedling is painless.", reference),
            AnswerPart(SMS_MORE_PROMPT),
        ),
    )
    assert grounding_problems({"utter_pain": [invented]}) == [
        "utter_pain (default): not a sentence of the article: 'Microneedling is painless.'"
    ]
    assert grounding_problems(load_answers()) == []


def test_the_checks_quotes_are_the_articles() -> None:
    # load_rules refuses a condition's article sentence the article does not say.
    rules = load_rules()
    quotes = [rules.doctor_sentence] + [
        condition.article for condition in rules.conditions.values()
    ]
    assert all(quotes) and not [q for q in quotes if ungrounded_sentences(q)]


@pytest.mark.parametrize(
    "sentence",
    [
        "Microneedling can cure acne scars in one session.",
        "You shouldn't get microneedling if you have eczema.",
        "Microneedling is painless.",
    ],
)
def test_invented_or_altered_sentences_are_caught(sentence: str) -> None:
    assert normalise(sentence) not in article_sentences()
