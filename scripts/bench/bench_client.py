"""The benchmark's REST client: conversations over /webhooks/rest/webhook, timed per message.

Each worker keeps one HTTP connection open (aiohttp session with a single keep-alive
connection, or http.client for the sequential run) so the client costs little beside
the server. Pure timing data comes back; scripts/bench/bench_stats.py turns it into figures.
"""

import asyncio
import http.client
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence
from urllib.parse import urlsplit

import aiohttp

REQUEST_TIMEOUT_S = 120


@dataclass(frozen=True)
class Turn:
    """One patient message and, optionally, text a correct reply must contain; a bot with no
    fallback (the starter) may answer an off-topic message with nothing."""

    text: str
    expect: Optional[str] = None
    silence_ok: bool = False


@dataclass
class LevelResult:
    """What one load level measured: each answered message's latency, wall time, failures."""

    latencies_s: List[float] = field(default_factory=list)
    wall_s: float = 0.0
    errors: int = 0
    error_samples: List[str] = field(default_factory=list)

    def fail(self, why: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(why)


def reply_problem(turn: Turn, status: int, body: bytes) -> Optional[str]:
    """Why a reply is wrong, or None: not 200, no reply at all, or the expected text missing."""
    if status != 200:
        return f"HTTP {status} to {turn.text!r}"
    replies = json.loads(body.decode("utf-8"))
    if not replies and not turn.silence_ok:
        return f"no reply to {turn.text!r}"
    if turn.expect and not any(turn.expect in r.get("text", "") for r in replies):
        return f"{turn.text!r} did not get {turn.expect!r}"
    return None


def first_sender(prefix: str, client_ids: bool) -> Optional[str]:
    """The sender of a conversation's first message. Ours issues the conversation id (in the
    X-Conversation-Id header; channels/conversation_ids.py); Rasa's own REST channel (the
    starter bot) takes the client's, unique per conversation so every run starts fresh."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}" if client_ids else None


def message_body(sender: Optional[str], text: str) -> Dict[str, str]:
    return {"message": text, **({"sender": sender} if sender else {})}


def run_sequential(
    url: str, conversations: Sequence[Sequence[Turn]], prefix: str, client_ids: bool = False
) -> LevelResult:
    """One conversation after another on one blocking keep-alive connection (no event loop)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port or 80, timeout=REQUEST_TIMEOUT_S
    )
    result = LevelResult()
    started = time.perf_counter()
    try:
        for turns in conversations:
            sender = first_sender(prefix, client_ids)
            for turn in turns:
                body = json.dumps(message_body(sender, turn.text))
                sent = time.perf_counter()
                try:
                    connection.request(
                        "POST", parts.path, body=body, headers={"Content-Type": "application/json"}
                    )
                    response = connection.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as error:
                    result.fail(f"{type(error).__name__}: {error}")
                    connection.close()
                    continue
                result.latencies_s.append(time.perf_counter() - sent)
                sender = response.getheader("X-Conversation-Id") or sender
                problem = reply_problem(turn, response.status, data)
                if problem:
                    result.fail(problem)
    finally:
        connection.close()
    result.wall_s = time.perf_counter() - started
    return result


async def _worker(
    url: str,
    queue: "asyncio.Queue[Sequence[Turn]]",
    prefix: str,
    result: LevelResult,
    client_ids: bool,
) -> None:
    # One connection per worker, kept alive across its conversations (a patient's device).
    connector = aiohttp.TCPConnector(limit=1, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        while True:
            try:
                turns = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            sender = first_sender(prefix, client_ids)
            for turn in turns:
                sent = time.perf_counter()
                try:
                    async with session.post(url, json=message_body(sender, turn.text)) as r:
                        status, data = r.status, await r.read()
                        sender = r.headers.get("X-Conversation-Id") or sender
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    result.fail(f"{type(error).__name__}: {error}")
                    continue
                result.latencies_s.append(time.perf_counter() - sent)
                problem = reply_problem(turn, status, data)
                if problem:
                    result.fail(problem)


async def _run_concurrent(
    url: str,
    conversations: Sequence[Sequence[Turn]],
    concurrency: int,
    prefix: str,
    client_ids: bool,
) -> LevelResult:
    queue: "asyncio.Queue[Sequence[Turn]]" = asyncio.Queue()
    for turns in conversations:
        queue.put_nowait(turns)
    result = LevelResult()
    started = time.perf_counter()
    await asyncio.gather(
        *(_worker(url, queue, prefix, result, client_ids) for _ in range(concurrency))
    )
    result.wall_s = time.perf_counter() - started
    return result


def run_concurrent(
    url: str,
    conversations: Sequence[Sequence[Turn]],
    concurrency: int,
    prefix: str,
    client_ids: bool = False,
) -> LevelResult:
    """`concurrency` conversations at once, each worker taking the next when one ends."""
    return asyncio.run(_run_concurrent(url, conversations, concurrency, prefix, client_ids))


def answers(url: str, turn: Turn, client_ids: bool = False) -> bool:
    """Whether the server answers `turn` correctly right now (used to time start-up)."""
    return not run_sequential(url, [[turn]], "startup", client_ids).errors
