"""1,000+ generated bad messages over REST against the real servers: no 5xx, no exception
in the servers' logs, every answer well-formed, and a normal conversation afterwards.

The counts are written to var/test-results/fuzz.json for the record.
"""

import json
import random
import string
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

from scripts.ops.serve import Servers
from rest_conversations import new_sender

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 1200
SENDERS = 40
WORKERS = 6
LOG_PROBLEMS = ("Traceback", "Exception", "ERROR", "Error:")

INTENTS = [
    "greet",
    "restart",
    "session_start",
    "back",
    "urgent_symptom",
    "check_candidacy",
    "ask_contraindications",
    "affirm",
    "deny",
    "nlu_fallback",
    "out_of_scope",
    "stop",
]
SLOTS = [
    "screening_outcome",
    "personal_verdict",
    "screening_findings",
    "requested_slot",
    "handoff_reason",
    "clinic_phone",
    "session_started_metadata",
]
WORDS = [
    "microneedling",
    "hurt",
    "eczema",
    "accutane",
    "bleeding",
    "pus",
    "recovery",
    "yes",
    "no",
    "stop",
    "menu",
    "cost",
    "scars",
    "?",
    "!",
    "I",
    "my",
    "face",
    "not",
]
FOREIGN = [
    "¿Qué es el microneedling?",
    "Est-ce que ça fait mal ?",
    "微针是什么？",
    "Что такое микронидлинг?",
    "هل العلاج مؤلم؟",
    "Tut die Behandlung weh?",
]


def generated_bodies(rng: random.Random) -> Iterator[bytes]:
    """Request bodies, most of them valid JSON with a hostile message, some not JSON at all."""
    senders = [new_sender() for _ in range(SENDERS)]

    def body(message: object, **extra: object) -> bytes:
        return json.dumps({"sender": rng.choice(senders), "message": message, **extra}).encode()

    makers: List[Callable[[], bytes]] = [
        lambda: body(""),
        lambda: body(" " * rng.randint(1, 50) + "\n\t" * rng.randint(0, 5)),
        lambda: body(rng.choice(WORDS) * rng.randint(1000, 25000)),
        lambda: body(" ".join(rng.choice(WORDS) for _ in range(rng.randint(2000, 6000)))),
        lambda: body(
            "".join(
                chr(rng.choice([0x1F600, 0x1F44D, 0x2764, 0x1F937]) + rng.randint(0, 40))
                for _ in range(rng.randint(1, 30))
            )
        ),
        lambda: body(rng.choice(FOREIGN)),
        lambda: body("".join(chr(rng.randint(0, 31)) for _ in range(rng.randint(1, 40)))),
        lambda: body("".join(chr(rng.randint(0, 0x2FFFF)) for _ in range(rng.randint(1, 60)))),
        lambda: body("\ud800 does it hurt \udfff"),
        lambda: body(
            rng.choice(
                [
                    "<script>alert(1)</script>",
                    "<img src=x onerror=alert(1)>",
                    "<b>bold</b> eczema?",
                    "<iframe src=//x>",
                    "&lt;&#0;&gt;",
                ]
            )
        ),
        lambda: body(json.dumps({rng.choice(SLOTS): rng.choice([True, None, 1, "x"])})),
        lambda: body(
            "/"
            + rng.choice(INTENTS)
            + json.dumps(
                {rng.choice(SLOTS): rng.choice([True, "Not recommended", None, 3.5, ["a"]])}
            )
        ),
        lambda: body("/" + rng.choice(INTENTS)),
        lambda: body(
            "/" + "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 80)))
        ),
        lambda: body(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))),
        lambda: body(rng.choice([42, None, True, ["hi"], {"text": "hi"}, 3.14])),
        lambda: body("hi", metadata=rng.choice(["x", 1, [], None, {"a": "b"}])),
        lambda: json.dumps({"message": "no sender"}).encode(),
        lambda: json.dumps(
            {"sender": rng.choice([None, 1, "", "x" * 500]), "message": "hi"}
        ).encode(),
        lambda: bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 200))),
        lambda: (
            b'{"sender": "fuzz-bytes", "message": "'
            + bytes(rng.randint(128, 255) for _ in range(rng.randint(1, 20)))
            + b'"}'
        ),
        lambda: rng.choice(
            [b"[]", b"null", b"{}", b'"text"', b"{", b'{"sender": "x", "message": "a"']
        ),
    ]
    for _ in range(MESSAGES):
        yield rng.choice(makers)()


def post(url: str, body: bytes) -> Tuple[int, object]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raw = error.read().decode("utf-8", "replace")
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw


def well_formed(status: int, answer: object) -> bool:
    if status == 400:
        return isinstance(answer, dict) and isinstance(answer.get("error"), str)
    if status == 403:  # a "sender" this assistant never issued (channels/conversation_ids.py)
        return isinstance(answer, dict) and '"sender"' in str(answer.get("error"))
    if status == 413:  # a body over the REST channel's limit (channels/request_limits.py)
        return isinstance(answer, str) and "too large" in answer
    if status != 200 or not isinstance(answer, list) or not answer:
        return False
    return all(
        isinstance(m, dict)
        and isinstance(m.get("recipient_id"), str)
        and (isinstance(m.get("text"), str) or "buttons" in m or "custom" in m)
        for m in answer
    )


def log_size(servers: Servers) -> Dict[Path, int]:
    return {log: log.stat().st_size for log in servers.log_dir.glob("*.log")}


def new_log_lines(servers: Servers, since: Dict[Path, int]) -> List[str]:
    lines = []
    for log in servers.log_dir.glob("*.log"):
        with log.open("rb") as handle:
            handle.seek(since.get(log, 0))
            lines += handle.read().decode("utf-8", "replace").splitlines()
    return lines


def test_a_thousand_bad_messages_get_clear_answers_and_break_nothing(
    servers: Servers, say: Callable[[str, str], List[Dict]], expected_reply: Callable[[str], str]
) -> None:
    rng = random.Random(20261125)
    before = log_size(servers)
    bodies = list(generated_bodies(rng))
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda b: post(servers.rest_url, b), bodies))

    statuses = [status for status, _ in results]
    malformed = [(b[:80], s, a) for b, (s, a) in zip(bodies, results) if not well_formed(s, a)]
    problems = [
        line
        for line in new_log_lines(servers, before)
        if any(marker in line for marker in LOG_PROBLEMS)
    ]
    summary = {
        "sent": len(bodies),
        "answered_200": statuses.count(200),
        "rejected_400": statuses.count(400),
        "rejected_403": statuses.count(403),
        "rejected_413": statuses.count(413),
        "server_errors_5xx": sum(s >= 500 for s in statuses),
        "malformed_answers": len(malformed),
        "log_exceptions": len(problems),
    }
    out = PROJECT_ROOT / "var" / "test-results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz.json").write_text(json.dumps(summary, indent=2))
    print(f"fuzz: {summary}")

    assert summary["sent"] >= 1000
    assert summary["server_errors_5xx"] == 0, [
        b[:200] for b, r in zip(bodies, results) if r[0] >= 500
    ][:5]
    assert malformed == []
    assert problems == []
    # The assistant still holds a normal conversation.
    sender = new_sender()
    assert [r["text"] for r in say(sender, "what is microneedling?")][-1] == expected_reply(
        "utter_what_is"
    )
    assert [r["text"] for r in say(sender, "does it hurt?")] == [expected_reply("utter_pain")]
