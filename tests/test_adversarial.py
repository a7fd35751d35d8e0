"""The outside security test's attacks, replayed against the real servers on loopback while
patients use the assistant: bounded in count and time.

While the attacks run, a patient asks a question over REST every few tenths of a second
and an SMS patient who stated a medication keeps texting. Asserted: no attack gets a 5xx,
no log gets a traceback, no attack's answer holds the SMS patient's data, and every
patient message is answered within 2 s.
"""

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Tuple

from channels import conversation_ids
from fake_providers import FakeProviders
from rest_conversations import new_sender
from scripts.ops.serve import Servers
from server_logs import log_sizes, logged_since
from test_sms import new_phone, post as post_sms, sms_form
from widget_client import widget_client

PATIENT_DEADLINE_S = 2.0
SLOW_SOCKETS = 60
Answer = Tuple[int, bytes]


def http(
    servers: Servers,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
    method: Optional[str] = None,
) -> Answer:
    url = f"http://localhost:{servers.rasa_port}{path}"
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (ConnectionError, OSError) as error:  # a server that cuts an oversized upload
        return 0, str(error).encode()


def rest(
    servers: Servers,
    body: bytes,
    content_type: str = "application/json",
    headers: Optional[Dict[str, str]] = None,
) -> Answer:
    return http(
        servers, "/webhooks/rest/webhook", body, {"Content-Type": content_type, **(headers or {})}
    )


def raw_request(servers: Servers, request: bytes) -> Answer:
    """Bytes sent as they are (a forged Host header); the status line's code."""
    with socket.create_connection(("127.0.0.1", servers.rasa_port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


def attacks(servers: Servers, victim: str, victim_sid: str) -> List[Callable[[], Answer]]:
    web_id = conversation_ids.issue(conversation_ids.WIDGET, servers.env["CONVERSATION_ID_SECRET"])

    def as_sender(sender: object, message: str = "check if I can get it") -> Callable[[], Answer]:
        return lambda: rest(servers, json.dumps({"sender": sender, "message": message}).encode())

    def twilio_flood() -> Answer:
        form = "&".join(f"f{i}=x" for i in range(200_000)).encode()
        return http(
            servers,
            "/webhooks/twilio/webhook",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def twilio_bad_host() -> Answer:
        body = b"From=%2B15550001111&Body=hi"
        return raw_request(
            servers,
            b"POST /webhooks/twilio/webhook HTTP/1.1\r\nHost: [::1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"X-Twilio-Signature: abc\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body,
        )

    def messenger_bad_signature() -> Answer:
        return http(
            servers,
            "/webhooks/facebook/webhook",
            b'{"object": "page", "entry": []}',
            {"Content-Type": "application/json", "X-Hub-Signature": "foo=bar"},
        )

    return [
        *(as_sender(sender) for sender in (victim, victim.lstrip("+"), web_id, "default", None, 7)),
        as_sender(victim, "no"),
        lambda: rest(
            servers,
            json.dumps({"sender": new_sender(), "message": "hi"}).encode(),
            headers={"X-Request-ID": victim_sid},
        ),
        lambda: rest(servers, b"[" * 100_000 + b"]" * 100_000),
        lambda: rest(servers, b'{"message": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001),
        lambda: rest(servers, json.dumps({"message": "/" + "a" * 60_000}).encode()),
        lambda: rest(servers, json.dumps({"message": "/{" + '"a": 1, ' * 6_000 + "}"}).encode()),
        lambda: rest(servers, json.dumps({"message": "/@" + "9" * 50_000}).encode()),
        lambda: rest(servers, json.dumps({"message": "x" * 3_000_000}).encode()),
        lambda: rest(
            servers, json.dumps({"message": "hi", "metadata": {"k": "v" * 500_000}}).encode()
        ),
        lambda: rest(servers, b'{"message": "does it hurt?"}', content_type="text/plain"),
        twilio_flood,
        twilio_bad_host,
        messenger_bad_signature,
        lambda: http(
            servers, "/webhooks/slack/webhook", b"{}", {"Content-Type": "application/json"}
        ),
        lambda: http(servers, "/version"),
        lambda: http(servers, "/"),
        lambda: http(servers, "/conversations/" + victim.replace("+", "%2B") + "/tracker"),
    ]


async def socket_attacks(servers: Servers, victim: str) -> List[Dict]:
    """Odd Socket.IO events, rooms and foreign session ids; every reply one socket got."""
    widget = await widget_client(servers)
    client = widget.client
    try:
        for payload in (
            [],
            42,
            "x" * 50_000,
            {"session_id": {"a": 1}},
            {"session_id": victim},
            {"session_id": ["a"] * 1000},
        ):
            await client.emit("session_request", payload)
        for index in range(300):  # one socket asking to join many rooms
            await client.emit("session_request", {"session_id": f"room-{index}"})
        for payload in (
            {"session_id": victim, "message": "what did I take?"},
            {"message": "/" + "b" * 200_000},
            {"message": ["x"]},
            None,
            3,
        ):
            await client.emit("user_uttered", payload)
        await asyncio.sleep(3)
    finally:
        await widget.disconnect()
    return widget.heard


def slow_sockets(servers: Servers, count: int, stop: threading.Event) -> None:
    """Clients that trickle a POST one byte at a time, as slowly as they can."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", servers.rasa_port), timeout=5)
        sock.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        )
        sockets.append(sock)
    while not stop.is_set():
        for sock in list(sockets):
            try:
                sock.send(b" ")
            except OSError:
                sockets.remove(sock)
        stop.wait(1)
    for sock in sockets:
        sock.close()


def test_attacks_get_no_5xx_no_traceback_no_other_patients_data_and_patients_are_served(
    servers: Servers, providers: FakeProviders
) -> None:
    victim = new_phone()
    medication = f"isotretinoin {uuid.uuid4().hex[:6]}"
    sms = sms_form(victim, f"I take {medication}, can I get microneedling?")
    assert post_sms(servers, sms) == 200
    mark = log_sizes(servers)

    latencies: List[float] = []
    stop = threading.Event()

    def patient() -> None:
        sender = new_sender()
        questions = ["does it hurt?", "how long does it last?", "what is microneedling?"]
        index = 0
        while not stop.is_set():
            body = json.dumps({"sender": sender, "message": questions[index % 3]}).encode()
            started = time.monotonic()
            status, answer = rest(servers, body)
            latencies.append(
                time.monotonic() - started if status == 200 and answer != b"[]" else float("inf")
            )
            index += 1
            stop.wait(0.3)

    answers: List[Answer] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        patients = [pool.submit(patient) for _ in range(2)]
        slow = pool.submit(slow_sockets, servers, SLOW_SOCKETS, stop)
        time.sleep(1)
        for _ in range(2):
            answers += list(
                pool.map(lambda attack: attack(), attacks(servers, victim, sms["MessageSid"]))
            )
        heard = asyncio.run(socket_attacks(servers, victim))
        time.sleep(2)
        stop.set()
        for future in (*patients, slow):
            future.result()

    assert [status for status, _ in answers if status >= 500] == []
    leaked = [
        body[:200]
        for _, body in answers
        if medication.encode() in body
        or victim.encode() in body
        or victim.lstrip("+").encode() in body
    ]
    assert leaked == []
    assert medication not in json.dumps(heard)
    assert latencies and max(latencies) <= PATIENT_DEADLINE_S, sorted(latencies)[-5:]
    new_logs = logged_since(servers, mark)
    assert "Traceback" not in new_logs
    assert medication not in new_logs and victim not in new_logs
