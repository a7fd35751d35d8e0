"""The guarded turn (policies/turn_plan.py) on hand-made conversations, without Rasa."""

from typing import List

from policies.turn_plan import (
    ACTION_DEACTIVATE_LOOP,
    ACTION_LISTEN,
    Plan,
    Settings,
    Step,
    after_rules,
    plan_turn,
)

SETTINGS = Settings(
    disclaimer="utter_disclaimer",
    truncated_note="utter_message_truncated",
    unavailable="utter_actions_unavailable",
    typed_command="utter_typed_command",
    no_words="utter_no_words",
    other_language="utter_english_only",
    urgent_intent="urgent_symptom",
    custom_actions=frozenset(
        {
            "action_start_screening",
            "action_assess_statement",
            "action_flag_handoff",
            "screening_form",
        }
    ),
    disclaimer_intents=frozenset({"bot_challenge"}),
    quiet_failures=frozenset({"action_flag_handoff"}),
    fallback_slots={"action_assess_statement": ("personal_verdict", False)},
    public_payloads=frozenset({"/greet"}),
    records_unavailable="utter_records_unavailable",
    other_language_named="utter_english_only_named",
    reply_languages=frozenset({"Spanish"}),
)


def user(intent: str, text: str = "a question", **check: object) -> Step:
    return Step("user", name=intent, text=text, input_check=check)


def action(name: str) -> Step:
    return Step("action", name=name)


def bot(*payloads: str) -> Step:
    return Step("bot", payloads=payloads)


def answered(intent: str, reply: str) -> List[Step]:
    return [
        action("action_listen"),
        user(intent),
        action("action_extract_slots"),
        action(reply),
        bot(),
        action("action_listen"),
    ]


def test_first_message_of_a_session_gets_the_disclaimer_first_then_the_rules_answer() -> None:
    steps = [action("action_listen"), user("ask_pain"), action("action_extract_slots")]
    assert plan_turn(steps, SETTINGS, None) == Plan(action="utter_disclaimer")
    steps += [action("utter_disclaimer"), bot()]
    # The rules see the turn as if the disclaimer were not there.
    assert plan_turn(steps, SETTINGS, None) == Plan(hidden=frozenset({3, 4}))


def test_the_disclaimer_comes_once_per_session() -> None:
    steps = [
        action("action_listen"),
        user("greet"),
        action("action_extract_slots"),
        action("utter_disclaimer"),
        bot(),
        action("utter_greet"),
        bot(),
        action("action_listen"),
        user("ask_pain"),
        action("action_extract_slots"),
    ]
    assert plan_turn(steps, SETTINGS, None) == Plan()


def test_an_urgent_message_is_answered_before_the_disclaimer_which_waits_a_turn() -> None:
    steps = [action("action_listen"), user("urgent_symptom"), action("action_extract_slots")]
    assert plan_turn(steps, SETTINGS, None) == Plan()
    steps += [
        action("utter_urgent"),
        bot(),
        action("action_listen"),
        user("thank"),
        action("action_extract_slots"),
    ]
    assert plan_turn(steps, SETTINGS, None) == Plan(action="utter_disclaimer")


def test_are_you_a_bot_is_answered_by_the_disclaimer_not_twice() -> None:
    steps = [action("action_listen"), user("bot_challenge"), action("action_extract_slots")]
    assert plan_turn(steps, SETTINGS, None) == Plan()
    steps += [action("utter_disclaimer"), bot()]
    assert plan_turn(steps, SETTINGS, None) == Plan()  # nothing hidden: it is the answer


def long_answer_in_the_screening() -> List[Step]:
    """A screening under way: the question was asked and a long answer came in."""
    return answered("greet", "utter_disclaimer") + [
        user("check_candidacy"),
        action("action_extract_slots"),
        action("action_start_screening"),
        Step("other"),
        action("screening_form"),
        bot(),
        action("action_listen"),
        user("affirm", "yes I have rosacea. " + "x" * 1100, truncated=True),
        action("action_extract_slots"),
    ]


def test_a_long_answer_in_the_screening_reaches_the_form_right_after_listening() -> None:
    # Rasa's form validates an answer only when the action before it is action_listen, so
    # no note may come between the patient's answer and the form.
    steps = long_answer_in_the_screening()
    plan = plan_turn(steps, SETTINGS, "screening_form")
    assert plan.action is None and plan.hidden == frozenset()
    assert after_rules(plan, "screening_form") == "screening_form"


def test_the_long_message_note_comes_when_the_rules_would_end_the_turn() -> None:
    steps = long_answer_in_the_screening() + [action("screening_form"), bot(), Step("other")]
    plan = plan_turn(steps, SETTINGS, "screening_form")
    assert after_rules(plan, ACTION_LISTEN) == "utter_message_truncated"
    steps += [action("utter_message_truncated"), bot()]
    plan = plan_turn(steps, SETTINGS, "screening_form")
    # Once: the rules see the turn without the note, and the turn ends.
    assert plan.hidden == frozenset({len(steps) - 2, len(steps) - 1})
    assert after_rules(plan, ACTION_LISTEN) == ACTION_LISTEN


def test_a_long_first_message_gets_the_disclaimer_then_the_answer_then_the_note() -> None:
    steps = [
        action("action_listen"),
        user("ask_contraindications", truncated=True),
        action("action_extract_slots"),
    ]
    assert plan_turn(steps, SETTINGS, None).action == "utter_disclaimer"
    steps += [action("utter_disclaimer"), bot()]
    plan = plan_turn(steps, SETTINGS, None)
    assert plan.action is None and plan.hidden == frozenset({3, 4})
    # The assessment reads the message right after the disclaimer, not after the note.
    assert after_rules(plan, "action_assess_statement") == "action_assess_statement"
    steps += [action("action_assess_statement"), Step("other")]
    assert after_rules(plan_turn(steps, SETTINGS, None), ACTION_LISTEN) == "utter_message_truncated"
    steps += [action("utter_message_truncated"), bot()]
    plan = plan_turn(steps, SETTINGS, None)
    assert plan.hidden == frozenset({3, 4, 7, 8})
    assert after_rules(plan, ACTION_LISTEN) == ACTION_LISTEN


def test_no_note_comes_between_a_message_and_an_active_loop() -> None:
    # A loop without the disclaimer shown cannot happen today (a new session closes the
    # loop), but if it did, the disclaimer would wait until the answer was read.
    steps = [action("action_listen"), user("deny", "no"), action("action_extract_slots")]
    plan = plan_turn(steps, SETTINGS, "screening_form")
    assert plan.action is None
    steps += [action("screening_form"), bot(), Step("other")]
    assert (
        after_rules(plan_turn(steps, SETTINGS, "screening_form"), ACTION_LISTEN)
        == "utter_disclaimer"
    )


def test_a_long_message_with_a_reply_of_its_own_gets_the_note_after_it() -> None:
    steps = answered("greet", "utter_disclaimer") + [
        user("nlu_fallback", other_language="Spanish", truncated=True),
        action("action_extract_slots"),
    ]
    assert plan_turn(steps, SETTINGS, None) == Plan(action="utter_english_only")
    steps += [action("utter_english_only"), bot()]
    assert plan_turn(steps, SETTINGS, None) == Plan(action="utter_message_truncated")
    steps += [action("utter_message_truncated"), bot()]
    assert plan_turn(steps, SETTINGS, None) == Plan(action=ACTION_LISTEN)


def test_a_long_message_during_an_outage_gets_the_note_after_the_unavailable_reply() -> None:
    steps = long_answer_in_the_screening() + [action("screening_form")]
    assert plan_turn(steps, SETTINGS, "screening_form") == Plan(action="utter_actions_unavailable")
    steps += [action("utter_actions_unavailable"), bot()]
    assert plan_turn(steps, SETTINGS, "screening_form") == Plan(action=ACTION_DEACTIVATE_LOOP)
    steps += [action(ACTION_DEACTIVATE_LOOP), Step("other")]
    assert plan_turn(steps, SETTINGS, None) == Plan(action="utter_message_truncated")
    steps += [action("utter_message_truncated"), bot()]
    assert plan_turn(steps, SETTINGS, None) == Plan(action=ACTION_LISTEN)


def test_a_long_urgent_message_gets_the_urgent_reply_alone() -> None:
    steps = [
        action("action_listen"),
        user("urgent_symptom", truncated=True),
        action("action_extract_slots"),
    ]
    plan = plan_turn(steps, SETTINGS, None)
    assert plan == Plan()
    assert after_rules(plan, ACTION_LISTEN) == ACTION_LISTEN


def test_a_typed_intent_is_refused_unless_the_bot_offered_it_as_a_button() -> None:
    session = answered("greet", "utter_disclaimer") + answered("show_menu", "utter_menu")
    typed = session + [
        user("ask_contraindications", text='/ask_contraindications{"x": 1}'),
        action("action_extract_slots"),
    ]
    assert plan_turn(typed, SETTINGS, None) == Plan(action="utter_typed_command")
    refused = typed + [action("utter_typed_command"), bot()]
    assert plan_turn(refused, SETTINGS, None) == Plan(action=ACTION_LISTEN)

    offered = session[:-2] + [
        bot("/ask_pain", "/check_candidacy"),
        action("action_listen"),
        user("ask_pain", text="/ask_pain"),
        action("action_extract_slots"),
    ]
    assert plan_turn(offered, SETTINGS, None) == Plan()
    assert (
        plan_turn(
            [action("action_listen"), user("greet", text="/greet"), action("action_extract_slots")],
            SETTINGS,
            None,
        ).action
        == "utter_disclaimer"
    )


def test_empty_and_foreign_messages_get_their_replies_after_the_disclaimer() -> None:
    for check, reply in (
        ({"no_words": True}, "utter_no_words"),
        ({"other_language": "Spanish"}, "utter_english_only"),
    ):
        steps = answered("greet", "utter_disclaimer") + [
            user("nlu_fallback", **check),
            action("action_extract_slots"),
        ]
        assert plan_turn(steps, SETTINGS, None) == Plan(action=reply)
    assert (
        plan_turn(
            [
                action("action_listen"),
                user("nlu_fallback", text="   "),
                action("action_extract_slots"),
            ],
            SETTINGS,
            None,
        ).action
        == "utter_disclaimer"
    )


def test_another_language_is_named_when_the_model_is_sure_and_spanish_has_its_own_reply() -> None:
    for check, reply in (
        ({"other_language": "French", "language_confident": True}, "utter_english_only_named"),
        ({"other_language": "French", "language_confident": False}, "utter_english_only"),
        ({"other_language": "non-Latin script"}, "utter_english_only"),
        # Spanish has its own variation of the reply (the patient_language slot picks it).
        ({"other_language": "Spanish", "language_confident": True}, "utter_english_only"),
    ):
        steps = answered("greet", "utter_disclaimer") + [
            user("nlu_fallback", **check),
            action("action_extract_slots"),
        ]
        assert plan_turn(steps, SETTINGS, None) == Plan(action=reply), check


def test_an_urgent_message_in_another_language_gets_the_rules_urgent_reply() -> None:
    steps = answered("greet", "utter_disclaimer") + [
        user("urgent_symptom", other_language="Spanish", language_confident=True),
        action("action_extract_slots"),
    ]
    assert plan_turn(steps, SETTINGS, "screening_form") == Plan()
    first = [
        action("action_listen"),
        user("urgent_symptom", other_language="Spanish"),
        action("action_extract_slots"),
    ]
    assert plan_turn(first, SETTINGS, None) == Plan()


def test_a_failed_action_gets_the_unavailable_reply_and_closes_the_form() -> None:
    steps = answered("greet", "utter_disclaimer") + [
        user("deny"),
        action("action_extract_slots"),
        action("screening_form"),
    ]
    assert plan_turn(steps, SETTINGS, "screening_form") == Plan(action="utter_actions_unavailable")
    steps += [action("utter_actions_unavailable"), bot()]
    assert plan_turn(steps, SETTINGS, "screening_form") == Plan(action=ACTION_DEACTIVATE_LOOP)
    steps += [action(ACTION_DEACTIVATE_LOOP), Step("other")]
    assert plan_turn(steps, SETTINGS, None) == Plan(action=ACTION_LISTEN)


def test_an_action_that_ran_is_not_mistaken_for_a_failure() -> None:
    steps = answered("greet", "utter_disclaimer") + [
        user("check_candidacy"),
        action("action_extract_slots"),
        action("action_start_screening"),
        Step("other"),
    ]
    assert plan_turn(steps, SETTINGS, None) == Plan()


def test_a_failed_assessment_still_gets_the_general_answer() -> None:
    steps = answered("greet", "utter_disclaimer") + [
        user("ask_contraindications"),
        action("action_extract_slots"),
        action("action_assess_statement"),
    ]
    assert plan_turn(steps, SETTINGS, None).action == "utter_actions_unavailable"
    steps += [action("utter_actions_unavailable"), bot()]
    failed = len(steps) - 3
    assert plan_turn(steps, SETTINGS, None) == Plan(
        hidden=frozenset({failed + 1, failed + 2}), slot=("personal_verdict", False)
    )
    steps += [action("utter_contraindications"), bot()]
    assert plan_turn(steps, SETTINGS, None) == Plan(action=ACTION_LISTEN)


def test_a_failed_handoff_flag_is_quiet() -> None:
    steps = answered("greet", "utter_disclaimer") + [
        user("request_human"),
        action("action_extract_slots"),
        action("utter_human"),
        bot(),
        action("action_flag_handoff"),
    ]
    assert plan_turn(steps, SETTINGS, None) == Plan(action=ACTION_LISTEN)


def test_buttons_of_a_response_the_bot_uttered_count_as_offered() -> None:
    steps = [
        action("action_listen"),
        user("show_menu"),
        action("action_extract_slots"),
        action("utter_disclaimer"),
        bot(),
        Step("action", name="utter_menu", payloads=("/ask_pain",)),
        action("action_listen"),
        user("ask_pain", text="/ask_pain"),
        action("action_extract_slots"),
    ]
    assert plan_turn(steps, SETTINGS, None) == Plan()


def test_without_the_conversation_records_the_patient_is_told_and_nothing_else_answered() -> None:
    # The database is down: Rasa hands over an empty conversation, so a "no" meant for a
    # screening question would otherwise get the disclaimer and an answer out of context.
    steps = [action("action_listen"), user("deny", "no"), action("action_extract_slots")]
    assert plan_turn(steps, SETTINGS, None, records_unavailable=True) == Plan(
        action="utter_records_unavailable"
    )
    steps += [action("utter_records_unavailable"), bot()]
    assert plan_turn(steps, SETTINGS, None, records_unavailable=True) == Plan(action=ACTION_LISTEN)
    # An urgent message still gets the rules' urgent reply.
    urgent = [action("action_listen"), user("urgent_symptom"), action("action_extract_slots")]
    assert plan_turn(urgent, SETTINGS, None, records_unavailable=True) == Plan()
    # With the records back, the turn is planned as always.
    assert plan_turn(steps[:3], SETTINGS, None) == Plan(action="utter_disclaimer")
