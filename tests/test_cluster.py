"""The production topology on loopback (scripts/ops/cluster.py): PostgreSQL, Redis, two Rasa
servers with an alert sender each, an action server, the staff inbox and nginx in front.
Many patients at once, their turns spread over both replicas, one replica killed mid-way:
every conversation ends as it should and is stored whole in PostgreSQL. An urgent message
raises one alert, which the two senders deliver once."""

import asyncio
import json
import os
import socket
import stat
import threading
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import psycopg2
import pytest
from twilio.request_validator import RequestValidator

from clinic.contraindication_rules import load_rules
from clinic.log_privacy import conversation_ref
from fake_providers import (
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_NUMBER,
    TWILIO_PUBLIC_WEBHOOK,
    FakeProviders,
    channel_env,
)
from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from scripts.ops.cluster import Cluster, postgres_home, running_cluster
from stores.lock_store import ClinicRedisLockStore
from scripts.ops.serve import PROJECT_ROOT
from rest_conversations import is_consent, new_sender, texts
from staff.alert_rules import UNDELIVERED_URGENT, URGENT
from test_staff_alert_delivery import WEBHOOK_SECRET, WebhookReceiver

QUESTIONS = [question.text for question in load_rules().questions.values()]
START = "am i a good candidate for microneedling?"
# The screening paths of tests/test_screening_rest.py, with their outcomes.
SCREENINGS: List[Tuple[List[str], str]] = [
    (["no", "no", "no", "no"], "No contraindication found"),
    (["no", "no", "yes", "no"], "Postpone"),
    (["no", "nope", "no", "yes, tretinoin every night"], "Check with your doctor first"),
    (["not sure", "no", "no", "no"], "Check with your doctor first"),
    (["no", "my skin reacts to everything"], "Not recommended"),
]
CONVERSATIONS = 50
RESULTS = PROJECT_ROOT / "var" / "test-results" / "cluster.json"


@pytest.fixture(scope="module")
def alert_webhook() -> Iterator[WebhookReceiver]:
    """The clinic's webhook for staff alerts, counting what the senders deliver."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def cluster(
    model_path: Path, providers: FakeProviders, alert_webhook: WebhookReceiver
) -> Iterator[Cluster]:
    with running_cluster(
        replicas=2,
        action_servers=1,
        root=PROJECT_ROOT / "var" / "test-cluster",
        model=model_path,
        fresh=True,
        extra_env={
            **channel_env(providers.url),
            "ALERT_WEBHOOK_URL": alert_webhook.url,
            "ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        },
    ) as running:
        yield running


@dataclass
class Turn:
    message: str
    replies: List[Dict]
    replica: str  # nginx's X-Rasa-Replica: every upstream it tried, the one that answered last
    answered_at: float


@dataclass
class Conversation:
    sender: str
    messages: List[str]
    outcome: str
    turns: List[Turn] = field(default_factory=list)


def post_json(url: str, body: Dict) -> Tuple[List[Dict], str]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=150) as response:
        assert response.status == 200
        return json.loads(response.read().decode("utf-8")), response.headers["X-Rasa-Replica"]


def hold(cluster: Cluster, conversation: Conversation, on_turn: threading.Semaphore) -> None:
    """One patient: an FAQ, then the screening, each answer only after its question."""
    for index, message in enumerate(conversation.messages):
        replies, replica = post_json(
            cluster.rest_url, {"sender": conversation.sender, "message": message}
        )
        conversation.turns.append(Turn(message, replies, replica, time.monotonic()))
        on_turn.release()
        if index >= 1 and index < len(conversation.messages) - 1:  # the consent, then questions
            assert any(q in texts(replies) for q in QUESTIONS) or any(
                map(is_consent, texts(replies))
            ), (conversation.sender, texts(replies))
    [result] = [
        t for t in texts(conversation.turns[-1].replies) if t.startswith("Result of the check:")
    ]
    assert result.startswith(f"Result of the check: {conversation.outcome}."), result


def stored(cluster: Cluster, senders: List[str]) -> Dict[str, List[Dict]]:
    """Every conversation's events as PostgreSQL holds them, in the order they were stored."""
    events: Dict[str, List[Dict]] = {sender: [] for sender in senders}
    with psycopg2.connect(cluster.tracker_store_url) as connection:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sender_id, data FROM events WHERE sender_id = ANY(%s) ORDER BY id",
                (senders,),
            )
            for sender, data in cursor.fetchall():
                events[sender].append(json.loads(data))
    connection.close()
    return events


def test_a_message_sent_again_with_its_id_is_answered_once_whichever_replica_gets_it(
    cluster: Cluster,
) -> None:
    sender, request_id = new_sender(), uuid.uuid4().hex

    def send(message: str, message_id: str) -> Tuple[List[Dict], str]:
        request = urllib.request.Request(
            cluster.rest_url,
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": message_id},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode("utf-8")), response.headers["X-Rasa-Replica"]

    send(START, uuid.uuid4().hex)
    send("yes", uuid.uuid4().hex)  # to the consent
    answers = [send("no", request_id) for _ in range(4)]
    # Round-robin sent the copies to both replicas; each answered with the first replies.
    assert {replica for _, replica in answers} == {
        cluster.replica_address(0),
        cluster.replica_address(1),
    }
    assert all(replies == answers[0][0] for replies, _ in answers)
    assert any(q in texts(answers[0][0]) for q in QUESTIONS)
    history = stored(cluster, [sender])[sender]
    assert [e["text"] for e in history if e["event"] == "user"] == [START, "yes", "no"]


def test_a_long_message_through_nginx_gets_the_assistants_answer(cluster: Cluster) -> None:
    # 20,000 characters: more than nginx keeps in memory by default, so it would spill the body
    # to a temp folder that its workers (`nobody` when run as root) cannot enter.
    replies, _ = post_json(cluster.rest_url, {"message": "does it hurt? " * 1500})
    assert texts(replies)


def test_the_clusters_files_are_private_and_its_database_is_where_postgresql_can_reach_it(
    cluster: Cluster,
) -> None:
    assert stat.S_IMODE(cluster.root.stat().st_mode) == 0o700
    logs = sorted(cluster.log_dir.glob("*.log"))
    assert logs and all(stat.S_IMODE(log.stat().st_mode) == 0o600 for log in logs)
    home = postgres_home(cluster.root)
    data = home / "postgres" if home == cluster.root else home / "data"
    assert (data / "PG_VERSION").exists()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        # The project (var/ is 0700) is closed to the `postgres` user PostgreSQL runs as.
        assert not str(home).startswith(str(PROJECT_ROOT))
        assert home.owner() == data.owner() == "postgres"
        assert stat.S_IMODE(home.stat().st_mode) == 0o700


def engineio(
    cluster: Cluster, method: str, query: str, origin: str, body: bytes = b""
) -> Tuple[str, str]:
    request = urllib.request.Request(
        f"{cluster.url}/socket.io/?EIO=4&transport=polling{query}",
        data=body if method == "POST" else None,
        method=method,
        headers={"Origin": origin, "Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode("utf-8"), response.headers["X-Rasa-Replica"]


def test_a_widget_session_stays_on_one_replica_and_upgrades_to_websocket(cluster: Cluster) -> None:
    origin = cluster.env["WEB_ORIGIN"]
    replicas = set()
    # Round-robin would send every other request to the replica that does not know the session.
    for _ in range(6):
        opened, replica = engineio(cluster, "GET", "", origin)
        assert opened.startswith("0"), opened
        sid = json.loads(opened[1:])["sid"]
        replicas.add(replica)
        answer, replica = engineio(cluster, "POST", f"&sid={sid}", origin, b"40")
        assert answer == "OK"
        replicas.add(replica)
        connected, replica = engineio(cluster, "GET", f"&sid={sid}", origin)
        assert connected.startswith("40"), connected
        replicas.add(replica)
    assert len(replicas) == 1

    host, port = "127.0.0.1", cluster.port
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(
            (
                f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Origin: {origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        status = connection.recv(4096).decode("latin-1").split("\r\n")[0]
    assert status.startswith("HTTP/1.1 101"), status


def post_sms(cluster: Cluster, phone: str, body: str) -> str:
    """Text the clinic through nginx as Twilio posts it; the replica that answered."""
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": phone,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(TWILIO_PUBLIC_WEBHOOK, form)
    request = urllib.request.Request(
        cluster.webhook_url("twilio"),
        data=urllib.parse.urlencode(form).encode("utf-8"),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return response.headers["X-Rasa-Replica"]


def test_an_sms_screening_through_nginx_uses_numbers_offered_by_the_other_replica(
    cluster: Cluster, providers: FakeProviders
) -> None:
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    replicas = []

    def text(body: str) -> List[str]:
        before = len(providers.sms_to(phone))
        replicas.append(post_sms(cluster, phone, body))
        return providers.sms_to(phone)[before:]

    assert any(is_consent(r) for r in text("am I a good candidate?"))
    replies = text("1")  # "Yes, go on"
    for _ in QUESTIONS:
        assert any(r.startswith(q) for r in replies for q in QUESTIONS), replies
        replies = text("2")  # "No": the button offered in the previous reply, read from PostgreSQL
    [result] = [r for r in replies if r.startswith("Result of the check:")]
    assert result.startswith("Result of the check: No contraindication found.")
    assert set(replicas) == {cluster.replica_address(0), cluster.replica_address(1)}


def alert_rows(cluster: Cluster, sender: str) -> List[Tuple[str, str]]:
    """(reason, channel) of every staff alert about `sender`, as PostgreSQL holds them."""
    with psycopg2.connect(cluster.tracker_store_url) as connection:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reason, channel, message_text FROM staff_alerts "
                "WHERE sender_id = %s ORDER BY id",
                (sender,),
            )
            rows = cursor.fetchall()
    connection.close()
    assert all(text is None for _, _, text in rows), "no patient text in an alert"
    return [(reason, channel) for reason, channel, _ in rows]


def test_urgent_messages_through_nginx_raise_one_alert_each_which_two_senders_deliver_once(
    cluster: Cluster, providers: FakeProviders, alert_webhook: WebhookReceiver
) -> None:
    for replica in cluster.replicas:  # both senders are running
        with urllib.request.urlopen(replica.alert_sender_health_url, timeout=10) as response:
            assert response.status == 200
    sender = new_sender()
    replies, _ = post_json(
        cluster.rest_url,
        {"sender": sender, "message": "bleedin wont stop, had microneedling 3 hrs ago"},
    )
    assert any("urgent medical attention" in text for text in texts(replies))
    # An SMS patient whose number Twilio refuses: the urgent reply is not delivered.
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    providers.fail_twilio(phone, times=100, status=400)
    post_sms(cluster, phone, "its oozing yellow stuff where they did the needling")
    salt = cluster.env["LOG_ID_SALT"]
    expected = sorted(
        [
            (URGENT, conversation_ref(sender, salt)),
            (URGENT, conversation_ref(phone, salt)),
            (UNDELIVERED_URGENT, conversation_ref(phone, salt)),
        ]
    )

    def delivered() -> List[Tuple[str, str]]:
        return sorted(
            (b["reason"], b["conversation_ref"])
            for b in alert_webhook.bodies()
            if b["conversation_ref"] in (expected[0][1], expected[1][1], expected[2][1])
        )

    deadline = time.monotonic() + 60
    while len(delivered()) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # both senders poll every second: a second delivery would come by now
    assert delivered() == expected
    assert alert_rows(cluster, sender) == [(URGENT, "rest")]
    assert sorted(alert_rows(cluster, phone)) == [
        (UNDELIVERED_URGENT, "twilio"),
        (URGENT, "twilio"),
    ]


def test_a_confirmed_deletion_through_nginx_removes_the_conversation_from_postgresql(
    cluster: Cluster,
) -> None:
    sender = new_sender()
    post_json(cluster.rest_url, {"sender": sender, "message": "it's oozing and I have a fever"})
    assert stored(cluster, [sender])[sender] and alert_rows(cluster, sender) == [("urgent", "rest")]
    # The confirmation and the yes go to different replicas (round-robin): both read PostgreSQL.
    post_json(cluster.rest_url, {"sender": sender, "message": "delete my conversation"})
    replies, _ = post_json(cluster.rest_url, {"sender": sender, "message": "yes"})
    assert texts(replies)[0].startswith("Done: this conversation is deleted")
    assert stored(cluster, [sender])[sender] == [] and alert_rows(cluster, sender) == []


def test_a_message_behind_a_dead_replicas_lock_is_served_when_both_tickets_expire_together(
    cluster: Cluster,
) -> None:
    config = EndpointConfig(
        url="127.0.0.1",
        type="redis",
        port=cluster.env["REDIS_PORT"],
        password=cluster.env["REDIS_PASSWORD"],
        key_prefix="locktest",
    )

    async def retried_message(store: RedisLockStore) -> bool:
        conversation = uuid.uuid4().hex
        store.issue_ticket(conversation, lock_lifetime=1.0)  # held by a replica that then died
        # The retry's ticket is issued a moment later; both expire during one wait of 2 s.
        async with store.lock(conversation, lock_lifetime=1.0, wait_time_in_seconds=2):
            return True

    def served_within_6s(store: RedisLockStore) -> bool:
        try:
            return asyncio.run(asyncio.wait_for(retried_message(store), timeout=6))
        except asyncio.TimeoutError:
            return False

    assert served_within_6s(ClinicRedisLockStore(config))
    # Rasa's own lock store waits for the vanished ticket until the request times out.
    assert not served_within_6s(
        RedisLockStore(
            host="127.0.0.1",
            port=cluster.env["REDIS_PORT"],
            password=cluster.env["REDIS_PASSWORD"],
            key_prefix="locktest",
        )
    )


def test_fifty_conversations_at_once_survive_a_replica_killed_mid_way(cluster: Cluster) -> None:
    conversations = [
        Conversation(new_sender(), ["does it hurt?", START, "yes", *answers], outcome)
        for i, (answers, outcome) in enumerate(SCREENINGS * (CONVERSATIONS // len(SCREENINGS)))
    ]
    total_turns = sum(len(c.messages) for c in conversations)
    started = time.monotonic()
    turns_done = threading.Semaphore(0)
    with ThreadPoolExecutor(max_workers=len(conversations)) as pool:
        futures = [pool.submit(hold, cluster, c, turns_done) for c in conversations]
        # Kill a replica when 60% of all turns are answered: most patients are
        # mid-conversation, have had about three turns on the two replicas, and both
        # replicas have messages in flight.
        for _ in range(int(total_turns * 0.6)):
            assert turns_done.acquire(timeout=300), "the conversations stopped progressing"
        # Round-robin sends both replicas as many messages, so the one that has answered
        # fewer has more in flight: kill that one.
        answered = [t.replica.split(", ")[-1] for c in conversations for t in list(c.turns)]
        doomed = min((0, 1), key=lambda i: answered.count(cluster.replica_address(i)))
        cluster.kill_replica(doomed)
        killed_at = time.monotonic()
        for future in futures:
            future.result()  # the conversation's assertions: right questions, right outcome

    killed, survivor = cluster.replica_address(doomed), cluster.replica_address(1 - doomed)
    before = [t for c in conversations for t in c.turns if t.answered_at < killed_at]
    after = [t for c in conversations for t in c.turns if t.answered_at > killed_at]
    assert {t.replica for t in before} == {survivor, killed}
    # Each patient's turns went to both replicas. Round-robin among 50 clients is not strict
    # alternation: about one conversation in ten has all its turns before the kill on the
    # survivor by chance, so the bound leaves room for that.
    spread = [c for c in conversations if len({t.replica.split(", ")[-1] for t in c.turns}) > 1]
    assert len(spread) >= 0.7 * len(conversations), f"{len(spread)} conversations spread"
    # Messages in flight on the killed replica went on to the survivor; then only it answers.
    retried = [t for t in after if t.replica == f"{killed}, {survivor}"]
    assert retried
    assert all(t.replica.split(", ")[-1] == survivor for t in after)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "conversations": len(conversations),
                "turns": total_turns,
                "seconds": round(time.monotonic() - started, 1),
                "turns_before_kill_per_replica": {
                    r: sum(t.replica == r for t in before) for r in (survivor, killed)
                },
                "turns_after_kill": len(after),
                "retried_on_survivor": len(retried),
                "last_retried_turn_answered_seconds_after_kill": round(
                    max(t.answered_at - killed_at for t in retried), 1
                ),
                "conversations_on_both_replicas": len(spread),
            },
            indent=2,
        )
    )

    # PostgreSQL holds each conversation whole: the patient's messages in the order sent,
    # each turn finished (answered, then listening) before the next began, the right outcome.
    events = stored(cluster, [c.sender for c in conversations])
    for conversation in conversations:
        history = events[conversation.sender]
        assert [e["text"] for e in history if e["event"] == "user"] == conversation.messages
        for position, event in enumerate(history):
            if event["event"] == "user":
                turn = history[position + 1 :]
                reply_end = next((i for i, e in enumerate(turn) if e["event"] == "user"), len(turn))
                assert any(e["event"] == "bot" for e in turn[:reply_end]), conversation.sender
                last = turn[reply_end - 1]
                assert (last["event"], last.get("name")) == ("action", "action_listen"), (
                    conversation.sender
                )
        outcomes = [
            e["value"]
            for e in history
            if e["event"] == "slot" and e["name"] == "screening_outcome" and e["value"]
        ]
        assert outcomes[-1] == conversation.outcome, conversation.sender
