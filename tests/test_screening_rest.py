"""The contraindication check over REST against the real action server and Rasa server."""

from typing import Callable, Dict, List

import pytest

from clinic.clinic_config import load_clinic_config
from clinic.contraindication_rules import load_rules
from scripts.ops.serve import Servers
from rest_conversations import is_consent, new_sender, texts, through_consent

Say = Callable[[str, str], List[Dict]]
RULES = load_rules()
QUESTIONS = {key: question.text for key, question in RULES.questions.items()}


def result_of(replies: List[Dict]) -> str:
    [result] = [t for t in texts(replies) if t.startswith("Result of the check:")]
    return result


@pytest.mark.parametrize(
    "statement, label, named",
    [
        ("I have rosacea, can I still get microneedling?", "Not recommended", "rosacea"),
        (
            "i'm breaking out really badly at the moment, can i still have it done?",
            "Postpone",
            "an active acne flare-up or breakout",
        ),
        (
            "I'm on accutane, is that a problem for microneedling?",
            "Check with your doctor first",
            "a medication that can dry the skin",
        ),
        (
            "I don't have eczema, psoriasis or rosacea, my skin isn't sensitive, no breakouts and "
            "I'm not on any medication. Am I a good candidate?",
            "No contraindication found",
            None,
        ),
    ],
)
def test_a_one_shot_statement_gets_the_labelled_outcome(
    say: Say, statement: str, label: str, named: str
) -> None:
    replies = say(new_sender(), statement)
    result = result_of(replies)
    assert result.startswith(f"Result of the check: {label}.")
    if named:
        assert f"You mentioned {named}" in result
    assert load_clinic_config().phone in result


def screening(say: Say, sender: str, answers: List[str]) -> List[Dict]:
    """Start the screening, answer each question in turn, return the last replies."""
    replies = through_consent(say, sender, say(sender, "am i a good candidate for microneedling?"))
    for answer in answers:
        assert any(q in texts(replies) for q in QUESTIONS.values()), texts(replies)
        replies = say(sender, answer)
    return replies


@pytest.mark.parametrize(
    "answers, label",
    [
        (["no", "no", "no", "no"], "No contraindication found"),
        (["no", "no", "yes", "no"], "Postpone"),
        (["no", "nope", "no", "yes, tretinoin every night"], "Check with your doctor first"),
        (["not sure", "no", "no", "no"], "Check with your doctor first"),
        (["no", "my skin reacts to everything"], "Not recommended"),
    ],
)
def test_the_screening_reaches_each_outcome(say: Say, answers: List[str], label: str) -> None:
    replies = screening(say, new_sender(), answers)
    assert result_of(replies).startswith(f"Result of the check: {label}.")


def test_a_not_recommended_answer_stops_early_and_says_why(say: Say) -> None:
    replies = screening(say, new_sender(), ["yes, psoriasis on my elbows"])
    assert any(t.startswith("Since you mentioned psoriasis") for t in texts(replies))
    assert result_of(replies).startswith("Result of the check: Not recommended.")
    assert RULES.conditions["psoriasis"].article in result_of(replies)


def test_the_screening_skips_what_the_patient_already_said(say: Say) -> None:
    sender = new_sender()
    replies = through_consent(
        say, sender, say(sender, "I'm on tretinoin. Could you check if I can get microneedling?")
    )
    assert QUESTIONS["medication"] not in texts(replies)
    asked = [t for t in texts(replies) if t in QUESTIONS.values()]
    for answer in ["no", "no", "no"]:
        replies = say(sender, answer)
        asked += [t for t in texts(replies) if t in QUESTIONS.values()]
    assert QUESTIONS["medication"] not in asked
    assert result_of(replies).startswith("Result of the check: Check with your doctor first.")


def test_an_faq_mid_screening_is_answered_and_the_question_repeated(
    say: Say, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    screening(say, sender, [])
    replies = texts(say(sender, "wait, does it hurt?"))
    assert replies == [expected_reply("utter_pain"), QUESTIONS["skin_condition"]]
    assert QUESTIONS["sensitive_skin"] in texts(say(sender, "no"))


def test_the_patient_can_stop_and_restart(say: Say, expected_reply: Callable[[str], str]) -> None:
    sender = new_sender()
    screening(say, sender, ["no"])
    assert texts(say(sender, "stop")) == [expected_reply("utter_screening_stopped")]
    # Stopped means stopped: a "no" now is not taken as an answer.
    assert texts(say(sender, "no")) == [expected_reply("utter_answer_without_question")]
    replies = say(sender, "check if i can get it")  # consent was given: not asked again
    assert QUESTIONS["skin_condition"] in texts(replies)


def test_starting_the_screening_says_what_it_does_and_asks_the_first_question(say: Say) -> None:
    sender = new_sender()
    disclaimer, *replies = texts(say(sender, "am i a good candidate for microneedling?"))
    assert disclaimer.startswith("I'm a virtual assistant")
    clinic = load_clinic_config()
    intro, consent = replies
    assert intro == (
        "Let's check whether the cautions in our article apply to you. You can say "
        '"stop" at any time.'
    )
    # Before any question about their health: what is asked, how long it is kept, the notice.
    assert is_consent(consent) and consent.endswith("Shall we go on?")
    assert f"kept with this conversation for {clinic.retention_days} days" in consent
    assert clinic.privacy_url in consent and "eczema, psoriasis or rosacea" in consent
    assert texts(say(sender, "yes")) == [QUESTIONS["skin_condition"]]


@pytest.mark.parametrize("reply", ["no", "no thanks", "I'd rather not"])
def test_no_to_the_consent_asks_nothing_and_stores_no_answer(
    say: Say, slot_events: Callable, expected_reply: Callable[[str], str], reply: str
) -> None:
    sender = new_sender()
    say(sender, "can you check if i can get microneedling?")
    declined = texts(say(sender, reply))
    # "I'd rather not" reads as stopping the check: as good as a no.
    assert declined in ([RULES.consent_declined], [expected_reply("utter_screening_stopped")])
    assert not any(q in t for t in declined for q in QUESTIONS.values())
    # The check is over: a "yes" now is not an answer to anything, and no result was given.
    assert not any(t.startswith("Result of the check:") for t in texts(say(sender, "yes")))
    assert ("screening_consent", True) not in slot_events(sender)
    assert not any(name == "screening_outcome" and value for name, value in slot_events(sender))


def test_a_question_instead_of_the_consent_is_answered_and_the_consent_asked_again(
    say: Say, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    say(sender, "am i a good candidate for microneedling?")
    replies = texts(say(sender, "does microneedling hurt?"))
    assert replies[0] == expected_reply("utter_pain") and is_consent(replies[-1])
    assert texts(say(sender, "ok")) == [QUESTIONS["skin_condition"]]


def test_buttons_answer_the_consent_and_the_question(say: Say) -> None:
    sender = new_sender()
    [consent] = [r for r in say(sender, "am i a good candidate?") if is_consent(r.get("text", ""))]
    assert [b["title"] for b in consent["buttons"]] == ["Yes, go on", "No, thanks"]
    replies = say(sender, consent["buttons"][0]["payload"])
    [question] = [r for r in replies if r.get("text") == QUESTIONS["skin_condition"]]
    payloads = {b["title"]: b["payload"] for b in question["buttons"]}
    assert QUESTIONS["sensitive_skin"] in texts(say(sender, payloads["No"]))


def test_a_typed_payload_cannot_set_the_outcome(say: Say, slot_events: Callable) -> None:
    sender = new_sender()
    assert "Not recommended" in result_of(say(sender, "I have eczema, can I get microneedling?"))
    forged = (
        '/ask_contraindications{"screening_outcome": "No contraindication found", '
        '"screening_findings": [], "personal_verdict": true}'
    )
    say(sender, forged)
    outcomes = [value for name, value in slot_events(sender) if name == "screening_outcome"]
    assert outcomes == ["Not recommended"]


def test_a_screening_resumes_after_the_rasa_server_restarts(servers: Servers, say: Say) -> None:
    sender = new_sender()
    screening(say, sender, ["no"])
    servers.restart_rasa_server()
    # The tracker store kept the form and its answers: the next answer moves on.
    assert QUESTIONS["breakout"] in texts(say(sender, "no"))
    assert QUESTIONS["medication"] in texts(say(sender, "no"))
    assert result_of(say(sender, "yes, tretinoin")).startswith(
        "Result of the check: Check with your doctor first."
    )
