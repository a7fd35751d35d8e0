"""Handoffs under load: many new patients ask for a person at the same moment; count how
many conversations the staff would find flagged.

Sends every message at once over REST (each its own connection, as separate patients'
devices), then reads `handoff_reason` from the tracker store (staff/database.py) and counts the
failed action calls in the Rasa server's log. Run against fresh servers of its own:

    .venv/bin/python -m scripts.bench.handoff_load --handoffs 400 --faqs 100

tests/test_handoff_load.py runs the same measurement at a smaller load in `make test`.
"""

import argparse
import asyncio
import json
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set

import aiohttp
import sqlalchemy as sa

from scripts.ops.processes import free_port
from scripts.ops.serve import Servers, running_servers
from scripts.ops.settings import DEFAULT_MODEL
from staff.database import events_table

HANDOFF_TEXT = "can I talk to a real person?"
FAQ_TEXTS = (
    "what is microneedling?",
    "does it hurt?",
    "what are the side effects?",
    "how soon do results show",
    "how long do the results last?",
)
REQUEST_TIMEOUT_S = 600
# What Rasa logs once for each action that failed (rasa/core/processor.py; its events are
# lost), and what policies/remote_action_retries.py logs before it tries a call again.
FAILED_CALL = re.compile(r"Encountered an exception while running action '(\w+)'")
RETRIED_CALL = re.compile(r"Action server call for '(\w+)' failed before a reply")


@dataclass
class Sent:
    """One first message of a new conversation and what came back."""

    text: str
    conversation_id: Optional[str] = None
    status: Optional[int] = None
    replies: List[Dict] = field(default_factory=list)
    error: str = ""


@dataclass
class LoadResult:
    sent: List[Sent]
    handoff_ids: List[str]
    flagged: Set[str]
    failed_calls: Dict[str, int]
    retried_calls: Dict[str, int]
    wall_s: float

    @property
    def unanswered(self) -> List[Sent]:
        return [s for s in self.sent if s.error or s.status != 200 or not s.replies]

    @property
    def lost(self) -> int:
        """Patients who asked for a person and whose conversation is not flagged."""
        return len([i for i in self.handoff_ids if i not in self.flagged])

    def summary(self) -> str:
        samples = sorted({s.error or f"HTTP {s.status}" for s in self.unanswered})[:3]
        return (
            f"{len(self.sent)} messages at once in {self.wall_s:.1f}s; "
            f"unanswered {len(self.unanswered)} {samples if samples else ''}; "
            f"handoffs flagged {len(self.flagged)}/{len(self.handoff_ids)}, lost {self.lost}; "
            f"failed action calls {self.failed_calls or 0}; "
            f"calls tried again {self.retried_calls or 0}"
        )


async def first_message(session: aiohttp.ClientSession, url: str, text: str) -> Sent:
    """Open a new conversation with `text`: no `sender`, so the REST channel issues the
    conversation's id (channels/conversation_ids.py) and names it in X-Conversation-Id."""
    sent = Sent(text)
    try:
        async with session.post(url, json={"message": text}) as response:
            sent.status = response.status
            sent.conversation_id = response.headers.get("X-Conversation-Id")
            body = await response.read()
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        sent.error = type(error).__name__
        return sent
    if sent.status == 200:
        sent.replies = json.loads(body.decode("utf-8"))
    return sent


async def send_at_once(url: str, texts: Sequence[str]) -> List[Sent]:
    """Every text as the first message of its own conversation, all in flight together."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    # No connection limit: each patient is a device of their own.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return list(await asyncio.gather(*(first_message(session, url, t) for t in texts)))


def message_mix(handoffs: int, faqs: int) -> List[str]:
    """The handoff requests with the FAQ questions spread evenly among them."""
    texts = [HANDOFF_TEXT] * handoffs
    for i in range(faqs):
        texts.insert((i * (handoffs + faqs)) // max(faqs, 1), FAQ_TEXTS[i % len(FAQ_TEXTS)])
    return texts


def flagged_conversations(tracker_store_url: str, ids: Sequence[str]) -> Set[str]:
    """Those of `ids` whose `handoff_reason` slot the tracker store holds as set (read as
    every other reader reads it: any backend, in POSTGRESQL_SCHEMA on PostgreSQL)."""
    found = events_table(tracker_store_url)
    if found is None:
        return set()
    engine, events = found
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(events.c.sender_id, events.c.data).where(events.c.type_name == "slot")
            ).fetchall()
    finally:
        engine.dispose()
    wanted = set(ids)
    return {
        sender
        for sender, data in rows
        if sender in wanted
        and json.loads(data).get("name") == "handoff_reason"
        and json.loads(data).get("value")
    }


def log_counts(log: Path, pattern: "re.Pattern[str]", since: int = 0) -> Dict[str, int]:
    """How many lines after byte `since` of `log` match, by action name."""
    counts: Dict[str, int] = {}
    with log.open("rb") as handle:
        handle.seek(since)
        for line in handle.read().decode("utf-8", errors="replace").splitlines():
            match = pattern.search(line)
            if match:
                counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def measure(servers: Servers, handoffs: int, faqs: int) -> LoadResult:
    """Send the mix at once to running servers and count what reached the tracker store."""
    log = servers.log_dir / servers.rasa_log_name
    log_start = log.stat().st_size if log.exists() else 0
    started = time.perf_counter()
    sent = asyncio.run(send_at_once(servers.rest_url, message_mix(handoffs, faqs)))
    wall_s = time.perf_counter() - started
    handoff_ids = [s.conversation_id or "" for s in sent if s.text == HANDOFF_TEXT]
    return LoadResult(
        sent,
        handoff_ids,
        flagged_conversations(servers.env["TRACKER_STORE_URL"], handoff_ids),
        log_counts(log, FAILED_CALL, log_start),
        log_counts(log, RETRIED_CALL, log_start),
        wall_s,
    )


def fresh_servers(workdir: Path, model: Path) -> Iterator[Servers]:
    """Servers on free ports with their own tracker store, as the tests' `servers` fixture."""
    tracker_db = workdir / "conversations.db"
    action_port, web_port = free_port(), free_port()
    return running_servers(
        rasa_port=free_port(),
        action_port=action_port,
        model=model,
        tracker_db=tracker_db,
        log_dir=workdir / "logs",
        web_port=web_port,
        credentials=workdir / "credentials.yml",
        extra_env={
            "TRACKER_STORE_URL": f"sqlite:///{tracker_db}",
            "ACTION_ENDPOINT_URL": f"http://localhost:{action_port}/webhook",
            "WEB_ORIGIN": f"http://localhost:{web_port}",
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--handoffs", type=int, default=400)
    parser.add_argument("--faqs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="loads sent one after another")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="handoff-load-") as workdir:
        with fresh_servers(Path(workdir), args.model) as servers:
            lost = 0
            for round_number in range(1, args.rounds + 1):
                result = measure(servers, args.handoffs, args.faqs)
                lost += result.lost
                print(f"round {round_number}: {result.summary()}", flush=True)
    raise SystemExit(1 if lost else 0)


if __name__ == "__main__":
    main()
