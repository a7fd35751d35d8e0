"""Out-of-domain evaluation: everyday requests that have nothing to do with the clinic, and
what a patient who sent one would have got.

Each query of Banking77's test split (tests/data/corpora/banking77_test.csv, never trained on)
is the first message of a new REST conversation (no `sender`: the server issues the id),
a few at a time. What the assistant did is read from the tracker store, not guessed from
the text: the actions it ran and the slots it set in that turn. A few greetings, thanks
and "are you a bot?" follow, to check that chit-chat is still answered as such. Counts,
rates and the first examples of each bad kind go to var/test-results/ood.json.

Against fresh servers of its own (`make eval-ood`):

    .venv/bin/python -m scripts.evaluation.eval_out_of_domain [--limit 300] [--model PATH]

tests/test_out_of_domain.py runs the same measurement on the shared test servers.
"""

import argparse
import asyncio
import csv
import json
import re
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

import aiohttp
import sqlalchemy as sa

from clinic.constants import LANGUAGE_SLOT
from scripts.bench.handoff_load import REQUEST_TIMEOUT_S, Sent, first_message, fresh_servers
from scripts.ops.serve import Servers
from scripts.ops.settings import DEFAULT_MODEL, PROJECT_ROOT
from staff.database import events_table

CORPUS = PROJECT_ROOT / "tests" / "data" / "corpora" / "banking77_test.csv"
INTENTS_DOC = PROJECT_ROOT / "docs" / "intents.md"
RESULT_PATH = PROJECT_ROOT / "var" / "test-results" / "ood.json"
# Enough to keep both server processes busy on a 2-CPU machine, few enough that no turn
# waits long (each conversation is one message, so there is no lock contention).
CONCURRENCY = 4
EXAMPLES_PER_KIND = 10

# What the patient got, worst first: a turn that did several is counted as the worst.
URGENT = "urgent"  # the urgent-symptom escalation
VERDICT = "verdict"  # a contraindication outcome (one-shot or screening)
SCREENING = "screening"  # the suitability check started: its first question
ARTICLE = "article"  # an article answer (utter_<topic>)
CANNOT_ANSWER = "cannot_answer"  # the honest "I can't answer that" with the clinic's details
CONTACT = "clinic_contact"  # booking, a person, an upset patient: the clinic's details
CHIT_CHAT = "chit_chat"  # greeting, goodbye, thanks, are you a bot, what can you do, menu
OTHER = "other"  # anything else (another language, "yes" without a question, ...)
NO_REPLY = "no_reply"  # an HTTP error or no conversation stored
KINDS = (URGENT, VERDICT, SCREENING, ARTICLE, CANNOT_ANSWER, CONTACT, CHIT_CHAT, OTHER, NO_REPLY)
# The microneedling answers an everyday request must not get.
MICRONEEDLING = (VERDICT, SCREENING, ARTICLE)

# The issue's targets on Banking77's test split.
MAX_MICRONEEDLING_RATE = 0.005
MAX_URGENT_RATE = 0.001

DISCLAIMER = "utter_disclaimer"
CONTACT_REPLIES = frozenset({"utter_booking", "utter_human", "utter_upset"})
CHIT_CHAT_REPLIES = frozenset(
    {"utter_greet", "utter_goodbye", "utter_you_are_welcome", "utter_capabilities", "utter_menu"}
)
# Actions that are no reply of their own.
BOOKKEEPING = frozenset(
    {
        "action_listen",
        "action_session_start",
        "action_flag_handoff",
        "screening_form",
        "action_deactivate_loop",
    }
)

# Chit-chat that must still be answered as such, with the reply it gets. "Are you a bot?"
# as a session's first message is answered by the disclaimer alone (it says what it is).
CHIT_CHAT_CASES: Tuple[Tuple[str, str], ...] = (
    ("hi", "utter_greet"),
    ("hello there", "utter_greet"),
    ("good morning", "utter_greet"),
    ("thanks", "utter_you_are_welcome"),
    ("thank you so much", "utter_you_are_welcome"),
    ("are you a bot?", DISCLAIMER),
    ("am i talking to a robot", DISCLAIMER),
    ("bye", "utter_goodbye"),
)


def topic_responses(path: Path = INTENTS_DOC) -> FrozenSet[str]:
    """utter_<topic> of each topic intent in docs/intents.md (the article's answers)."""
    section = path.read_text(encoding="utf-8").split("## Topic intents", 1)[1].split("\n## ", 1)[0]
    intents = re.findall(r"^\| `(ask_\w+)`", section, flags=re.MULTILINE)
    return frozenset(f"utter_{intent.removeprefix('ask_')}" for intent in intents)


ARTICLE_REPLIES = topic_responses()


@dataclass
class QueryOutcome:
    """One query, its conversation, and what the assistant did with it."""

    text: str
    category: str = ""
    conversation_id: str = ""
    error: str = ""
    intent: str = ""
    confidence: Optional[float] = None
    replies: List[str] = field(default_factory=list)
    outcome: Optional[str] = None
    kind: str = NO_REPLY
    # The language the input guard gave the message (the patient_language slot), if any.
    language: str = ""


def load_corpus(path: Path = CORPUS) -> List[Tuple[str, str]]:
    """(text, category) for every query of the evaluation set."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def classify(replies: Sequence[str], outcome: Optional[str]) -> str:
    """The worst kind of reply in one turn (its actions, the screening outcome it set)."""
    answers = set(replies) - BOOKKEEPING
    if "utter_urgent" in answers:
        return URGENT
    if outcome:
        return VERDICT
    if "action_start_screening" in answers:
        return SCREENING
    if answers & ARTICLE_REPLIES:
        return ARTICLE
    if "utter_cannot_answer" in answers:
        return CANNOT_ANSWER
    if answers & CONTACT_REPLIES:
        return CONTACT
    # The session's disclaimer opens every first turn; alone, it answered "are you a bot?".
    if answers & CHIT_CHAT_REPLIES or answers == {DISCLAIMER}:
        return CHIT_CHAT
    return OTHER if answers else NO_REPLY


def read_turn(turn: QueryOutcome, events: Iterable[Mapping[str, Any]]) -> None:
    """Fill in what the first user message of a stored conversation got."""
    seen_user = False
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                break
            seen_user = True
            intent = (event.get("parse_data") or {}).get("intent") or {}
            turn.intent, turn.confidence = intent.get("name") or "", intent.get("confidence")
        elif not seen_user:
            continue
        elif kind == "action" and event.get("name") not in BOOKKEEPING:
            turn.replies.append(str(event.get("name")))
        elif kind == "slot" and event.get("name") == "screening_outcome" and event.get("value"):
            turn.outcome = str(event["value"])
        elif kind == "slot" and event.get("name") == LANGUAGE_SLOT and not turn.language:
            turn.language = str(event.get("value") or "")
    if not turn.error:
        turn.kind = classify(turn.replies, turn.outcome) if seen_user else NO_REPLY


def stored_events(
    tracker_store_url: str, ids: Sequence[str], chunk: int = 500
) -> Dict[str, List[Dict[str, Any]]]:
    """The events of each of `ids`, in order, from the tracker store."""
    found = events_table(tracker_store_url)
    by_id: Dict[str, List[Dict[str, Any]]] = {i: [] for i in ids}
    if found is None:
        return by_id
    engine, events = found
    with engine.connect() as connection:
        for start in range(0, len(ids), chunk):
            query = (
                sa.select(events.c.sender_id, events.c.data)
                .where(events.c.sender_id.in_(ids[start : start + chunk]))
                .order_by(events.c.sender_id, events.c.id)
            )
            for sender, data in connection.execute(query):
                by_id[sender].append(json.loads(data))
    engine.dispose()
    return by_id


async def send_bounded(url: str, texts: Sequence[str], concurrency: int) -> List[Sent]:
    """Each text as the first message of its own conversation, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(text: str) -> Sent:
            async with gate:
                return await first_message(session, url, text)

        return list(await asyncio.gather(*(one(text) for text in texts)))


def run_turns(
    servers: Servers, queries: Sequence[Tuple[str, str]], concurrency: int = CONCURRENCY
) -> List[QueryOutcome]:
    """Send each (text, category) to the servers and read back what each got."""
    sent = asyncio.run(send_bounded(servers.rest_url, [text for text, _ in queries], concurrency))
    turns = []
    for (text, category), result in zip(queries, sent):
        error = result.error or ("" if result.status == 200 else f"HTTP {result.status}")
        turns.append(QueryOutcome(text, category, result.conversation_id or "", error))
    stored = stored_events(
        servers.env["TRACKER_STORE_URL"], [t.conversation_id for t in turns if t.conversation_id]
    )
    for turn in turns:
        read_turn(turn, stored.get(turn.conversation_id, []))
    return turns


@dataclass(repr=False)
class Evaluation:
    """The turns of a corpus, and of the chit-chat cases with the reply each should get."""

    corpus: str
    turns: List[QueryOutcome]
    chit_chat: List[Tuple[QueryOutcome, str]]
    wall_s: float

    def __repr__(self) -> str:
        # Short, so a failed assertion shows the report rather than 3,000 turns.
        return f"Evaluation({self.corpus!r}, {len(self.turns)} turns)"

    @property
    def counts(self) -> Dict[str, int]:
        found = Counter(turn.kind for turn in self.turns)
        return {kind: found.get(kind, 0) for kind in KINDS}

    def rate(self, *kinds: str) -> float:
        return sum(self.counts[kind] for kind in kinds) / max(len(self.turns), 1)

    @property
    def chit_chat_wrong(self) -> List[Tuple[str, str, List[str]]]:
        """(text, expected reply, replies got) for each chit-chat case not answered as such."""
        return [
            (turn.text, expected, turn.replies)
            for turn, expected in self.chit_chat
            if turn.kind != CHIT_CHAT or expected not in turn.replies
        ]

    @property
    def targets_met(self) -> bool:
        return (
            self.rate(*MICRONEEDLING) <= MAX_MICRONEEDLING_RATE
            and self.rate(URGENT) <= MAX_URGENT_RATE
            and not self.chit_chat_wrong
        )

    def summary(self) -> Dict[str, Any]:
        bad = (URGENT, *MICRONEEDLING, NO_REPLY)
        examples = {
            kind: [_example(t) for t in self.turns if t.kind == kind][:EXAMPLES_PER_KIND]
            for kind in bad
        }
        bad_categories = Counter(
            t.category for t in self.turns if t.kind in (URGENT, *MICRONEEDLING)
        )
        return {
            "corpus": self.corpus,
            "queries": len(self.turns),
            "wall_s": round(self.wall_s, 1),
            "counts": self.counts,
            "rates": {kind: round(self.rate(kind), 5) for kind in KINDS},
            "targets": {
                "microneedling_answer": {
                    "kinds": list(MICRONEEDLING),
                    "rate": round(self.rate(*MICRONEEDLING), 5),
                    "max": MAX_MICRONEEDLING_RATE,
                },
                "urgent": {"rate": round(self.rate(URGENT), 5), "max": MAX_URGENT_RATE},
                "chit_chat_answered": {
                    "cases": len(self.chit_chat),
                    "wrong": [list(w) for w in self.chit_chat_wrong],
                },
                "met": self.targets_met,
            },
            "intents": dict(Counter(t.intent or "(none)" for t in self.turns).most_common()),
            "bad_by_category": dict(bad_categories.most_common(15)),
            "examples": {kind: found for kind, found in examples.items() if found},
        }

    def report(self) -> str:
        counts = self.counts
        lines = [f"{len(self.turns)} out-of-domain queries ({self.corpus}) in {self.wall_s:.0f}s:"]
        lines += [f"  {kind:<15} {counts[kind]:>5}  {self.rate(kind):7.2%}" for kind in KINDS]
        lines.append(
            f"  microneedling answer (article, verdict, screening): "
            f"{self.rate(*MICRONEEDLING):.2%} (target <= {MAX_MICRONEEDLING_RATE:.1%}); "
            f"urgent: {self.rate(URGENT):.2%} (target <= {MAX_URGENT_RATE:.1%})"
        )
        lines.append(
            f"  chit-chat answered as such: {len(self.chit_chat) - len(self.chit_chat_wrong)}"
            f"/{len(self.chit_chat)}" + "".join(f"; wrong: {w}" for w in self.chit_chat_wrong)
        )
        for kind in (URGENT, *MICRONEEDLING):
            for turn in [t for t in self.turns if t.kind == kind][:3]:
                lines.append(
                    f"  e.g. {kind}: {turn.text!r} -> {turn.intent} "
                    f"({turn.confidence or 0:.2f}) {turn.replies}"
                )
        lines.append(f"  targets met: {'yes' if self.targets_met else 'NO'}")
        return "\n".join(lines)


def _example(turn: QueryOutcome) -> Dict[str, Any]:
    found = asdict(turn)
    del found["conversation_id"], found["kind"]
    return found


def evaluate(
    servers: Servers,
    corpus: Path = CORPUS,
    limit: Optional[int] = None,
    concurrency: int = CONCURRENCY,
) -> Evaluation:
    """The corpus (`limit` of its queries, spread over it) and the chit-chat cases, against
    running servers."""
    queries = load_corpus(corpus)
    if limit:
        # The corpus is sorted by category: every n-th query samples all of them.
        queries = queries[:: max(len(queries) // limit, 1)][:limit]
    started = time.perf_counter()
    turns = run_turns(servers, queries, concurrency)
    wall_s = time.perf_counter() - started
    chit_chat = run_turns(
        servers, [(text, "chit-chat") for text, _ in CHIT_CHAT_CASES], concurrency
    )
    name = (
        str(corpus.relative_to(PROJECT_ROOT))
        if corpus.is_relative_to(PROJECT_ROOT)
        else str(corpus)
    )
    return Evaluation(
        name, turns, list(zip(chit_chat, [reply for _, reply in CHIT_CHAT_CASES])), wall_s
    )


def write_summary(evaluation: Evaluation, out: Path = RESULT_PATH) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(evaluation.summary(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--limit", type=int, help="only N queries, spread over the corpus (a quick look)"
    )
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--out", type=Path, default=RESULT_PATH)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eval-ood-") as workdir:
        with fresh_servers(Path(workdir), args.model) as servers:
            evaluation = evaluate(servers, args.corpus.resolve(), args.limit, args.concurrency)
    print(evaluation.report())
    print(f"Written to {write_summary(evaluation, args.out)}")


if __name__ == "__main__":
    main()
