"""Rasa adapters for the contraindication check: thin wrappers around screening.py."""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from clinic.answerability import default_answerability
from clinic.clinic_config import ClinicConfig, load_clinic_config
from clinic.constants import (
    CALLBACK_SLOT,
    CANNOT_ANSWER_RESPONSE,
    DELETION_SLOT,
    HANDOFF_SLOT,
    NOT_RECOMMENDED,
    REPEATED_FALLBACK,
    REQUESTED,
    SCREENING_OUTCOME_SLOT,
    PHONE_CHANNELS,
    UNANSWERED_INTENTS,
    UPSET,
)
from clinic.contraindication_rules import CONSENT, Rules, load_rules
from clinic.extraction import default_extractor, patient_findings
from clinic.log_privacy import conversation_ref
from clinic.screening import (
    MAX_UNREAD_REPLIES,
    NO,
    YES,
    Finding,
    answer_question,
    answered_questions,
    asks_back,
    assess,
    consent_reply,
    decided,
    from_slot,
    is_question,
    next_question,
    questions_covered,
    reply_text,
    statement_verdict,
    to_slot,
    unread_reply,
)

logger = logging.getLogger(__name__)

# Loaded when the action server starts, so a broken file stops it with a clear error.
RULES: Rules = load_rules()
CLINIC: ClinicConfig = load_clinic_config()
EXTRACTOR = default_extractor()

# Each topic's answer (knowledge/answerability.yml): during the screening every message
# reaches the form first, and one that is not an answer but a question gets this.
TOPIC_RESPONSES = {
    intent: topic.response for intent, topic in default_answerability().topics.items()
}
NOT_READ = (
    "Sorry, I didn't catch that. Please answer yes, no or not sure (or name the "
    "condition or medication), or pick one of the buttons."
)
CONSENT_NOT_READ = "Please answer yes to go on with the check, or no if you'd rather not."
# The form's slot once the patient said no to the consent: the form ends, with no result.
DECLINED = "declined"


def log_run(action: str, tracker: Tracker) -> None:
    # Which action ran for which conversation; never the text or a slot value.
    logger.info("%s ran for conversation %s.", action, conversation_ref(tracker.sender_id))


def contact_line() -> str:
    return (
        f"To talk it through, call {CLINIC.name} on {CLINIC.phone} ({CLINIC.opening_hours}) "
        f"or book a consultation at {CLINIC.booking_url}."
    )


def result_events(findings: List[Finding]) -> List[EventType]:
    return [
        SlotSet("screening_findings", to_slot(findings)),
        SlotSet(SCREENING_OUTCOME_SLOT, assess(RULES, findings).outcome),
    ]


class ActionAssessStatement(Action):
    """One-shot: a patient who names their own condition gets the verdict at once."""

    def name(self) -> Text:
        return "action_assess_statement"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        log_run(self.name(), tracker)
        verdict = statement_verdict(
            RULES, EXTRACTOR.mentions(tracker.latest_message.get("text") or "")
        )
        if verdict is None:
            return [SlotSet("personal_verdict", False)]
        assessment, findings = verdict.assessment, verdict.findings
        text = reply_text(RULES, assessment, contact_line())
        if assessment.outcome != NOT_RECOMMENDED and not verdict.complete:
            text += (
                "\nThis covered only what you mentioned. For the full check, say "
                '"check if I can get it".'
            )
        dispatcher.utter_message(text=text)
        stated = from_slot(tracker.get_slot("stated_findings"), RULES)
        return [
            SlotSet("personal_verdict", True),
            SlotSet("stated_findings", to_slot(stated + findings)),
            *result_events(findings),
        ]


class ActionStartScreening(Action):
    """Start (or restart) the screening, skipping what the patient has already said."""

    def name(self) -> Text:
        return "action_start_screening"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        log_run(self.name(), tracker)
        mentions = EXTRACTOR.mentions(tracker.latest_message.get("text") or "")
        findings = from_slot(tracker.get_slot("stated_findings"), RULES) + patient_findings(
            mentions
        )
        answered = questions_covered(RULES, findings, mentions)
        question = next_question(RULES, answered)
        intro = "Let's check whether the cautions in our article apply to you."
        if answered:
            intro += " I'll skip what you've already told me."
        # By SMS and WhatsApp, sending STOP unsubscribes the patient; the numbered answers
        # offer "Stop the check".
        if (
            question is not None
            and not decided(RULES, findings)
            and tracker.get_latest_input_channel() not in PHONE_CHANNELS
        ):
            intro += ' You can say "stop" at any time.'
        dispatcher.utter_message(text=intro)
        # Nothing left to ask: the form completes at once and the result follows.
        done = "done" if question is None or decided(RULES, findings) else None
        # Before the first question about their health, the patient is told what is asked
        # and kept, and the check goes on only on yes (once per conversation).
        if not done and tracker.get_slot("screening_consent") is not True:
            question = CONSENT
        return [
            SlotSet("stated_findings", []),
            SlotSet("screening_findings", to_slot(findings)),
            SlotSet(SCREENING_OUTCOME_SLOT, None),
            SlotSet("screening_answered", answered),
            SlotSet("screening_question", None if done else question),
            SlotSet("screening_answer", done),
            SlotSet("screening_unread", 0),
        ]


class ValidateScreeningForm(FormValidationAction):
    """Read each answer, record its findings, and move to the next question or finish."""

    def name(self) -> Text:
        return "validate_screening_form"

    def validate_screening_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        findings = from_slot(tracker.get_slot("screening_findings"), RULES)
        answered = list(tracker.get_slot("screening_answered") or [])
        question = tracker.get_slot("screening_question") or next_question(RULES, answered)
        if question is None or decided(RULES, findings):
            return self._finish(dispatcher, findings, answered)
        if value is None:
            # Cleared by action_start_screening just now: nothing was answered yet.
            return {"screening_answer": None}
        if question == CONSENT:
            return self._consent(dispatcher, tracker, answered)

        # What the NLU read (a long message: its bounded prefix), as the one-shot check reads;
        # the slot holds the whole message as sent.
        text = tracker.latest_message.get("text") or str(value)
        ok, new_findings = answer_question(RULES, question, text, EXTRACTOR.mentions(text))
        findings = list(dict.fromkeys(findings + new_findings))
        asked_back = asks_back(RULES, question, text, new_findings)
        if not ok or asked_back:
            intent = tracker.latest_message.get("intent", {}).get("name")
            if asked_back and intent in TOPIC_RESPONSES:
                dispatcher.utter_message(response=TOPIC_RESPONSES[intent])
            elif asked_back and intent in UNANSWERED_INTENTS:
                # Says what the article does not say, as outside the check (the slots of
                # nlu_components/answerability.py are set for this message).
                dispatcher.utter_message(response=CANNOT_ANSWER_RESPONSE)
            # A question back is answered, and counts as a reply that is no answer: the same
            # question is never asked a third time, whatever comes back.
            unread = int(tracker.get_slot("screening_unread") or 0) + 1
            move_on, findings, answered = unread_reply(RULES, question, findings, answered, unread)
            upset = {}
            if intent == "express_frustration":
                # Not an answer, and the patient is upset: the team's contact, and the
                # conversation marked for staff, as outside the check.
                dispatcher.utter_message(response="utter_upset")
                upset = {HANDOFF_SLOT: UPSET}
            if not move_on:
                if not upset and not asked_back:
                    dispatcher.utter_message(text=NOT_READ)
                return {
                    "screening_answer": None,
                    "screening_findings": to_slot(findings),
                    "screening_unread": unread,
                    **upset,
                }
            dispatcher.utter_message(text="I'll note that as not sure and go on.")
            new_findings = []
        else:
            upset = {}

        answered = list(
            dict.fromkeys(answered + [question] + answered_questions(RULES, new_findings))
        )
        following = next_question(RULES, answered)
        if following is None or decided(RULES, findings):
            return {
                **self._finish(dispatcher, findings, answered, skipped=following is not None),
                "screening_unread": 0,
                **upset,
            }
        return {
            "screening_answer": None,
            "screening_findings": to_slot(findings),
            "screening_answered": answered,
            "screening_question": following,
            "screening_unread": 0,
            **upset,
        }

    @staticmethod
    def _consent(
        dispatcher: CollectingDispatcher, tracker: Tracker, answered: List[str]
    ) -> Dict[Text, Any]:
        """The reply to the consent: yes asks the first question, no (or two replies that
        are neither) ends the check without asking anything."""
        text = tracker.latest_message.get("text") or ""
        reply = consent_reply(text)
        if reply == YES:
            return {
                "screening_answer": None,
                "screening_consent": True,
                "screening_question": next_question(RULES, answered),
                "screening_unread": 0,
            }
        unread = int(tracker.get_slot("screening_unread") or 0) + 1
        if reply == NO or unread >= MAX_UNREAD_REPLIES:
            dispatcher.utter_message(text=RULES.consent_declined)
            return {
                "screening_answer": DECLINED,
                "screening_consent": False,
                "screening_question": None,
                "screening_unread": 0,
            }
        intent = tracker.latest_message.get("intent", {}).get("name")
        if is_question(text) and intent in TOPIC_RESPONSES:
            dispatcher.utter_message(response=TOPIC_RESPONSES[intent])  # then asked again
        else:
            dispatcher.utter_message(text=CONSENT_NOT_READ)
        return {"screening_answer": None, "screening_unread": unread}

    @staticmethod
    def _finish(
        dispatcher: CollectingDispatcher,
        findings: List[Finding],
        answered: List[str],
        skipped: bool = False,
    ) -> Dict[Text, Any]:
        if skipped:
            names = ", ".join(
                r.name for r in assess(RULES, findings).reasons if r.outcome == NOT_RECOMMENDED
            )
            dispatcher.utter_message(
                text=f"Since you mentioned {names}, the other questions would not change the "
                f"result, so I'll stop here."
            )
        return {
            "screening_answer": "done",
            "screening_findings": to_slot(findings),
            "screening_answered": answered,
            "screening_question": None,
        }


class ActionScreeningResult(Action):
    """Give the outcome with every reason and the article's sentence behind it."""

    def name(self) -> Text:
        return "action_screening_result"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        log_run(self.name(), tracker)
        if tracker.get_slot("screening_answer") == DECLINED:
            return [SlotSet("screening_answer", None)]  # nothing was asked: no result
        findings = from_slot(tracker.get_slot("screening_findings"), RULES)
        dispatcher.utter_message(text=reply_text(RULES, assess(RULES, findings), contact_line()))
        return [*result_events(findings), SlotSet("screening_answer", None)]


class ActionFlagHandoff(Action):
    """Mark the conversation for a call from the clinic's staff, with the reason.

    A question it could not answer is marked only when the one before it was not
    answered either.
    """

    REASONS = {"request_human": REQUESTED, "express_frustration": UPSET}

    def name(self) -> Text:
        return "action_flag_handoff"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        log_run(self.name(), tracker)
        intent = tracker.latest_message.get("intent", {}).get("name")
        # A call-back question asked earlier is no longer the one a yes or no answers.
        reset = [SlotSet("callback_asked", False)] if tracker.get_slot("callback_asked") else []
        if intent in UNANSWERED_INTENTS:
            return (
                [SlotSet(HANDOFF_SLOT, REPEATED_FALLBACK), *reset]
                if previous_turn_unanswered(tracker.events)
                else reset
            )
        # By SMS or WhatsApp the clinic can call back on the patient's number, with their
        # agreement (the staff alert carries the number only then); not mid-check, which goes on.
        ask = (
            intent == "request_human"
            and tracker.get_latest_input_channel() in PHONE_CHANNELS
            and tracker.active_loop_name is None
        )
        if ask:
            dispatcher.utter_message(response="utter_ask_callback")
        return [
            SlotSet(HANDOFF_SLOT, self.REASONS.get(intent, REQUESTED)),
            *([SlotSet("callback_asked", True)] if ask else reset),
        ]


class ActionCallbackReply(Action):
    """The patient's yes or no right after a handoff: to the call-back question when it was
    asked (by SMS or WhatsApp), else a yes or no to nothing."""

    def name(self) -> Text:
        return "action_callback_reply"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        log_run(self.name(), tracker)
        if not tracker.get_slot("callback_asked"):
            dispatcher.utter_message(response="utter_answer_without_question")
            return []
        agreed = tracker.latest_message.get("intent", {}).get("name") == "affirm"
        if agreed:
            dispatcher.utter_message(response="utter_callback_agreed")
        else:
            dispatcher.utter_message(response="utter_callback_declined")
        return [SlotSet("callback_asked", False), SlotSet(CALLBACK_SLOT, agreed)]


def previous_turn_unanswered(events: List[Dict[Text, Any]]) -> bool:
    """True when the bot's reply to the user message before the latest one was
    "I can't answer that"."""
    user_turns = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if len(user_turns) < 2:
        return False
    between = events[user_turns[-2] : user_turns[-1]]
    return any(
        e.get("event") == "action" and e.get("name") == CANNOT_ANSWER_RESPONSE for e in between
    )


DELETED = (
    "Done: this conversation is deleted, with everything you told me in it. If you "
    "write again, we start afresh."
)


class ActionDeleteConversation(Action):
    """The patient confirmed the deletion. The Rasa server's tracker store, which holds the
    conversation, deletes its stored events and staff alerts when it saves this turn
    instead of storing it (stores/tracker_store.py reads the slot set here)."""

    def name(self) -> Text:
        return "action_delete_conversation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        log_run(self.name(), tracker)
        dispatcher.utter_message(text=DELETED)
        return [SlotSet(DELETION_SLOT, True)]
