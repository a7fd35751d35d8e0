"""Pure logic of the guarded turn: what the assistant does before, instead of, or after
the rules (no Rasa imports; policies/clinic_rule_policy.py is the Rasa adapter).

A turn is everything after the patient's latest message. In order:
1. A custom action that failed (the action server is down) is followed by a reply that the
   feature is unavailable, with the clinic's phone; an active form is closed; for a one-shot
   assessment the general article answer still comes. When the conversation itself can't
   be read or stored (the database is down), the reply says so and nothing else is
   answered, except an urgent message, which the rules answer as always.
2. Before the first reply, once per session, the disclaimer (not on an urgent turn: the
   urgent reply comes before anything else).
3. Input the assistant cannot read gets a clear reply instead of a guess: a typed `/intent`
   that is not the payload of a button the bot offered, a message without words, a message
   in another language (not an urgent one: the urgent reply comes first, in Spanish for a
   Spanish message). In a language whose fixed replies the domain has (Spanish), the
   reply is that one's; in another the language model is sure of, a reply naming it.
4. Otherwise the rules decide, on the conversation with the notes of this turn hidden, so
   that every rule applies as if the notes were not there.
5. When the turn would end, the notes that come after the answer: that a long message was
   read only in part (not on an urgent turn: the urgent reply stands alone).

No note ever comes between the patient's message and an active loop: Rasa's form reads
the answer only when the action before it is `action_listen`, so a note there would make
the form skip the answer (a long "yes, I have rosacea" ended in "No contraindication
found"). While a loop is active, the disclaimer waits until after the answer too.
"""

from dataclasses import dataclass, field, replace
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

ACTION_LISTEN = "action_listen"
ACTION_DEACTIVATE_LOOP = "action_deactivate_loop"
# Rasa runs this itself after every message; it is not an answer.
BOOKKEEPING_ACTIONS = frozenset({"action_extract_slots", "action_session_start"})


@dataclass(frozen=True)
class Step:
    """One tracker event, reduced to what the plan needs."""

    kind: str  # "user", "action", "bot" or "other"
    name: str = ""  # the intent of a user step, the action of an action step
    text: str = ""
    payloads: Tuple[str, ...] = ()  # the buttons a bot message or a response offered
    input_check: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    disclaimer: str
    truncated_note: str
    unavailable: str
    typed_command: str
    no_words: str
    other_language: str
    urgent_intent: str
    custom_actions: FrozenSet[str]
    # Intents the disclaimer itself answers ("are you a bot?"): no second copy first.
    disclaimer_intents: FrozenSet[str] = frozenset()
    # A failed action that needs no apology (the patient already has the phone number).
    quiet_failures: FrozenSet[str] = frozenset()
    # A failed one-shot assessment: the rules go on as if it set this slot to this value.
    fallback_slots: Mapping[str, Tuple[str, object]] = field(default_factory=dict)
    # Payloads accepted as typed, e.g. the widget's opening "/greet".
    public_payloads: FrozenSet[str] = frozenset()
    # The reply when the conversation can't be read or stored; "" turns the check off.
    records_unavailable: str = ""
    # The reply to another language that names it ("It looks like you wrote in French");
    # "" gives `other_language` to every language.
    other_language_named: str = ""
    # Languages whose own variation of `other_language` the domain has (Spanish).
    reply_languages: FrozenSet[str] = frozenset()


@dataclass(frozen=True)
class Plan:
    """Either an action to predict, or the rules' turn on a tracker with some steps hidden
    and, optionally, one slot set after the last step."""

    action: Optional[str] = None
    hidden: FrozenSet[int] = frozenset()
    slot: Optional[Tuple[str, object]] = None
    # Said instead of action_listen when the rules end the turn.
    before_listening: Optional[str] = None


def plan_turn(
    steps: Sequence[Step],
    settings: Settings,
    active_loop: Optional[str],
    records_unavailable: bool = False,
) -> Plan:
    """What comes next in this session (`steps` start at the session's start).
    `records_unavailable`: the conversation could not be read or stored this turn."""
    users = [index for index, step in enumerate(steps) if step.kind == "user"]
    if not users:
        return Plan()
    start = users[-1] + 1
    user = steps[users[-1]]
    turn = list(range(start, len(steps)))
    done = [
        steps[i].name
        for i in turn
        if steps[i].kind == "action" and steps[i].name not in BOOKKEEPING_ACTIONS
    ]

    if records_unavailable and settings.records_unavailable and user.name != settings.urgent_intent:
        note = settings.records_unavailable
        return Plan(action=ACTION_LISTEN if note in done else note)

    before, after = notes_of_turn(steps, users[-1], user, settings, active_loop)
    pending = next((note for note in after if note not in done), None)

    failed = failed_action(steps, turn, settings.custom_actions)
    if failed is not None:
        return ending_with(after_failure(steps, failed, done, settings, active_loop), pending)

    for note in before:
        if note not in done:
            return Plan(action=note)
    hidden = note_steps(steps, turn, {settings.disclaimer, settings.truncated_note}, user, settings)

    problem = input_problem(steps, user, settings)
    if problem:
        return ending_with(Plan(action=ACTION_LISTEN if problem in done else problem), pending)
    return Plan(hidden=frozenset(hidden), before_listening=pending)


def after_rules(plan: Plan, rules_action: str) -> str:
    """The action to predict when the rules chose `rules_action` on the plan's view."""
    if rules_action == ACTION_LISTEN and plan.before_listening:
        return plan.before_listening
    return rules_action


def ending_with(plan: Plan, note: Optional[str]) -> Plan:
    """`plan` with `note` said before the turn ends."""
    if note is None:
        return plan
    if plan.action == ACTION_LISTEN:
        return Plan(action=note)
    if plan.action is None:
        return replace(plan, before_listening=note)
    return plan


def failed_action(
    steps: Sequence[Step], turn: List[int], custom_actions: FrozenSet[str]
) -> Optional[int]:
    """A custom action that left no event at all: Rasa could not reach the action server.

    Every custom action of ours returns at least one event when it runs (a test holds
    them to it), and Rasa records nothing but the action itself when the call fails.
    """
    for i in turn:
        step = steps[i]
        if step.kind == "action" and step.name in custom_actions:
            nothing_after = i + 1 == len(steps) or steps[i + 1].kind == "action"
            if nothing_after:
                return i
    return None


def after_failure(
    steps: Sequence[Step],
    failed: int,
    done: List[str],
    settings: Settings,
    active_loop: Optional[str],
) -> Plan:
    name = steps[failed].name
    after = [steps[i].name for i in range(failed + 1, len(steps)) if steps[i].kind == "action"]
    if name not in settings.quiet_failures and settings.unavailable not in after:
        return Plan(action=settings.unavailable)
    if active_loop:
        return Plan(action=ACTION_DEACTIVATE_LOOP)
    fallback = settings.fallback_slots.get(name)
    answered = any(a.startswith("utter_") and a != settings.unavailable for a in after)
    if fallback and not answered:
        # The rules continue from the failed action as if it had set the slot.
        hidden = frozenset(range(failed + 1, len(steps)))
        return Plan(hidden=hidden, slot=fallback)
    return Plan(action=ACTION_LISTEN)


def notes_of_turn(
    steps: Sequence[Step],
    user_index: int,
    user: Step,
    settings: Settings,
    active_loop: Optional[str],
) -> Tuple[List[str], List[str]]:
    """The notes to say before this turn's answer, and those to say after it."""
    if user.name == settings.urgent_intent:
        return [], []  # the urgent reply comes first; the disclaimer waits for the next turn
    after = [settings.truncated_note] if user.input_check.get("truncated") else []
    shown_before = any(
        step.kind == "action" and step.name == settings.disclaimer for step in steps[:user_index]
    )
    if shown_before or user.name in settings.disclaimer_intents:
        return [], after
    if active_loop:
        return [], after + [settings.disclaimer]
    return [settings.disclaimer], after


def note_steps(
    steps: Sequence[Step], turn: List[int], notes: set, user: Step, settings: Settings
) -> List[int]:
    """This turn's notes and what they uttered, so the rules can look past them."""
    if user.name in settings.disclaimer_intents:
        notes = notes - {settings.disclaimer}  # there it is the answer, not a note
    hidden: List[int] = []
    hiding = False
    for i in turn:
        step = steps[i]
        if step.kind == "action":
            hiding = step.name in notes
        if hiding:
            hidden.append(i)
    return hidden


def offered_payloads(steps: Sequence[Step]) -> FrozenSet[str]:
    return frozenset(p for step in steps for p in step.payloads)


def input_problem(steps: Sequence[Step], user: Step, settings: Settings) -> Optional[str]:
    text = user.text.strip()
    if text.startswith("/"):
        accepted = offered_payloads(steps) | settings.public_payloads
        return None if text in accepted else settings.typed_command
    if user.input_check.get("no_words") or not text:
        return settings.no_words
    language = user.input_check.get("other_language")
    if language and user.name != settings.urgent_intent:
        named = user.input_check.get("language_confident") and settings.other_language_named
        if language in settings.reply_languages or not named:
            return settings.other_language
        return settings.other_language_named
    return None


def settings_from_config(config: Dict[str, object], custom_actions: FrozenSet[str]) -> Settings:
    """Settings from the policy's entry in config.yml."""
    responses = dict(config["guard_responses"])  # type: ignore[arg-type]
    fallback = {
        action: (slot["slot"], slot["value"])
        for action, slot in dict(config.get("fallback_slots") or {}).items()
    }
    return Settings(
        disclaimer=responses["disclaimer"],
        truncated_note=responses["truncated"],
        unavailable=responses["unavailable"],
        typed_command=responses["typed_command"],
        no_words=responses["no_words"],
        other_language=responses["other_language"],
        urgent_intent=str(config["urgent_intent"]),
        custom_actions=custom_actions,
        disclaimer_intents=frozenset(config.get("disclaimer_intents") or []),
        quiet_failures=frozenset(config.get("quiet_failures") or []),
        fallback_slots=fallback,
        public_payloads=frozenset(config.get("public_payloads") or []),
        records_unavailable=str(responses.get("records_unavailable") or ""),
        other_language_named=str(responses.get("other_language_named") or ""),
        reply_languages=frozenset(config.get("reply_languages") or []),
    )
