"""What reaches the real Rasa server before any signature or message is read: bodies are
bounded per webhook (channels/request_limits.py), malformed requests get a 4xx without a
traceback, slow clients are cut off (channels/server_limits.py), and nothing says which
Rasa it is."""

import json
import select
import socket
import sqlite3
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from twilio.request_validator import RequestValidator

from channels.twilio import TwilioInput
from fake_providers import TWILIO_AUTH_TOKEN, TWILIO_NUMBER
from raw_http import Answer, request_head, send, trickle
from rest_conversations import new_sender
from scripts.ops.serve import Servers

Say = Callable[[str, str], List[Dict]]
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LOG_PROBLEMS = ("Traceback", "Exception", "ERROR")


def post(servers: Servers, path: str, body: bytes, headers: Dict[str, str] = JSON) -> Answer:
    return send(servers.rasa_port, "POST", path, headers, body)


def rest_body(sender: str, message: str = "does it hurt?", **extra: object) -> bytes:
    return json.dumps({"sender": sender, "message": message, **extra}).encode()


def log_text(servers: Servers) -> str:
    return "\n".join(log.read_text(errors="replace") for log in Path(servers.log_dir).glob("*.log"))


def stored_bytes(servers: Servers, sender: str) -> int:
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        (size,) = connection.execute(
            "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM events WHERE sender_id = ?", (sender,)
        ).fetchone()
    return size


def timed_say(say: Say, sender: str, message: str = "does it hurt?") -> float:
    started = time.monotonic()
    assert say(sender, message)
    return time.monotonic() - started


@pytest.mark.parametrize(
    "path, headers, size",
    [
        ("/webhooks/rest/webhook", JSON, 200_000),
        ("/webhooks/twilio/webhook", FORM, 64_000),
        ("/webhooks/whatsapp/webhook", FORM, 64_000),
        ("/webhooks/twilio_voice/webhook", FORM, 64_000),
        ("/webhooks/facebook/webhook", JSON, 400_000),
        ("/webhooks/slack/webhook", JSON, 400_000),
    ],
    ids=["rest", "twilio", "whatsapp", "twilio_voice", "facebook", "slack"],
)
def test_each_webhook_refuses_a_body_larger_than_its_channel_sends(
    servers: Servers, path: str, headers: Dict[str, str], size: int
) -> None:
    answer = post(servers, path, b"a" * size, headers)
    assert answer.status == 413, answer
    assert b"too large" in answer.body
    # A declared length is refused before any of it is sent.
    declared = send(servers.rasa_port, "POST", path, headers, b"", length=50_000_000, timeout=10)
    assert declared.status == 413 and declared.seconds < 2, declared


def test_any_other_route_refuses_a_body_over_1_mb_before_reading_it(servers: Servers) -> None:
    answer = send(
        servers.rasa_port,
        "POST",
        "/socket.io/?EIO=4&transport=polling",
        {"Content-Type": "text/plain"},
        b"",
        length=5_000_000,
        timeout=10,
    )
    assert answer.status == 413 and answer.seconds < 2, answer


def test_an_unsigned_huge_sms_form_is_refused_at_once_and_holds_no_one_up(
    servers: Servers, say: Say
) -> None:
    other = new_sender()
    say(other, "hello")
    form = b"&".join(b"f%d=x" % i for i in range(800_000))  # about 7.9 MB
    with ThreadPoolExecutor(2) as pool:
        huge = pool.submit(
            post,
            servers,
            "/webhooks/twilio/webhook",
            form,
            {**FORM, "X-Twilio-Signature": "forged"},
        )
        time.sleep(0.2)
        other_wait = pool.submit(timed_say, say, other).result()
        answer = huge.result()
    print(
        f"unsigned {len(form) / 1e6:.1f} MB SMS form: {answer.status} after "
        f"{answer.seconds:.2f}s; another patient meanwhile answered in {other_wait:.2f}s"
    )
    assert answer.status == 413 and answer.seconds < 2
    assert other_wait < 2


def test_an_sms_form_with_too_many_fields_is_refused_before_its_signature_is_checked(
    servers: Servers,
) -> None:
    form = {f"f{i}": "" for i in range(3000)}
    form.update({"From": "+15550100123", "To": TWILIO_NUMBER, "Body": "hi"})
    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(
        "https://clinic.example.org/webhooks/twilio/webhook", form
    )
    answer = post(
        servers,
        "/webhooks/twilio/webhook",
        urllib.parse.urlencode(form).encode(),
        {**FORM, "X-Twilio-Signature": signature},
    )
    assert answer.status == 400 and b"fields" in answer.body, answer


class StubRequest:
    """As much of a sanic request as the signature check reads."""

    def __init__(self, host: str) -> None:
        self.headers = {"X-Twilio-Signature": "forged", "Host": host}
        self.url = f"http://{host}/webhooks/twilio/webhook"


@pytest.mark.parametrize("host", ["a:b", "[", "x:99999999", "\udcff"])
def test_a_bad_host_without_a_configured_webhook_url_is_an_unsigned_sms(host: str) -> None:
    channel = TwilioInput("AC" + "0" * 32, TWILIO_AUTH_TOKEN, TWILIO_NUMBER, webhook_url=None)
    assert channel.signed_by_twilio(StubRequest(host), {"Body": "hi"}) is False


def test_rest_takes_only_json_so_other_sites_cannot_post_from_a_browser(servers: Servers) -> None:
    sender = new_sender()
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ):
        headers = {"Content-Type": content_type} if content_type else {}
        answer = post(servers, "/webhooks/rest/webhook", rest_body(sender), headers)
        assert answer.status == 415, (content_type, answer)
        assert "application/json" in json.loads(answer.body)["error"]
    assert stored_bytes(servers, sender) == 0
    answer = post(
        servers,
        "/webhooks/rest/webhook",
        rest_body(sender),
        {"Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.status == 200


def test_metadata_of_more_than_4_kb_is_refused_and_nothing_is_stored(servers: Servers) -> None:
    big, small = new_sender(), new_sender()
    answer = post(
        servers, "/webhooks/rest/webhook", rest_body(big, metadata={"note": "x" * 100_000})
    )
    assert answer.status == 413 and b"metadata" in answer.body, answer
    assert stored_bytes(servers, big) == 0
    answer = post(
        servers, "/webhooks/rest/webhook", rest_body(small, metadata={"note": "x" * 1000})
    )
    assert answer.status == 200
    stored = stored_bytes(servers, small)
    print(f"a message with 1 kB of metadata is stored in {stored} bytes")
    assert 1000 < stored < 20_000


@pytest.mark.parametrize(
    "path, body, headers",
    [
        ("/webhooks/rest/webhook", b"[" * 100_000, JSON),
        (
            "/webhooks/rest/webhook",
            b'{"sender": "x", "message": "hi", "metadata": '
            + b'{"a": ' * 15_000
            + b"1"
            + b"}" * 15_001,
            JSON,
        ),
        (
            "/webhooks/rest/webhook",
            b'{"sender": "x", "message": "hi", "metadata": ' + b'{"a": ' * 900 + b"1" + b"}" * 901,
            JSON,
        ),
        ("/webhooks/facebook/webhook", b"{}", {**JSON, "X-Hub-Signature": "foo=bar"}),
        ("/webhooks/facebook/webhook", b"{}", {**JSON, "X-Hub-Signature": "new=bar"}),
        ("/webhooks/facebook/webhook", b"{}", {**JSON, "X-Hub-Signature": "a=b=c"}),
        ("/webhooks/facebook/webhook", b"{}", {**JSON, "X-Hub-Signature": "md5=" + "0" * 32}),
        ("/webhooks/facebook/webhook", b"{}", {**JSON, "X-Hub-Signature": "sha1=\xe9\xe9"}),
        ("/webhooks/facebook/webhook", b"{}", {**JSON, "X-Hub-Signature-256": "sha1=x"}),
    ],
    ids=[
        "rest-nested-100k",
        "rest-metadata-nested-15k",
        "rest-metadata-nested-900",
        "fb-foo=bar",
        "fb-new=bar",
        "fb-a=b=c",
        "fb-md5",
        "fb-non-ascii",
        "fb-256-as-sha1",
    ],
)
def test_malformed_requests_before_authentication_get_a_4xx_and_no_traceback(
    servers: Servers, path: str, body: bytes, headers: Dict[str, str]
) -> None:
    before = len(log_text(servers))
    answer = post(servers, path, body, headers)
    assert 400 <= answer.status < 500, answer
    time.sleep(0.5)
    new_lines = log_text(servers)[before:]
    assert not [p for p in LOG_PROBLEMS if p in new_lines], new_lines[-2000:]


def test_the_server_does_not_say_which_rasa_it_is(servers: Servers) -> None:
    root = send(servers.rasa_port, "GET", "/", {})
    assert root.status == 200
    assert b"rasa" not in root.body.lower() and b"3." not in root.body, root.body
    assert send(servers.rasa_port, "GET", "/version", {}).status == 404


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/conversations/%2B15550001234/tracker"),
        ("GET", "/zebrafinch-%3Cb%3Ehi"),
        ("PUT", "/webhooks/rest/webhook?zebrafinch=1"),
    ],
)
def test_an_unknown_route_or_method_does_not_repeat_the_url(
    servers: Servers, method: str, path: str
) -> None:
    answer = send(servers.rasa_port, method, path, {})
    assert answer.status in (404, 405), answer
    assert b"15550001234" not in answer.body and b"zebrafinch" not in answer.body, answer.body


def test_a_header_trickled_byte_by_byte_is_cut_off_after_10_seconds(servers: Servers) -> None:
    head = request_head("POST", "/webhooks/rest/webhook", {**JSON, "X-Pad": "p" * 200}, 10)
    answer = trickle(servers.rasa_port, head, stop_after=25)
    print(f"trickled header: status {answer.status} after {answer.seconds:.1f}s")
    # Sanic checks its timeouts every half of the shortest one (5 s).
    assert answer.status == 408 and answer.seconds < 16, answer


def test_an_idle_connection_is_closed_after_15_seconds(servers: Servers) -> None:
    with socket.create_connection(("127.0.0.1", servers.rasa_port)) as sock:
        started = time.monotonic()
        readable = select.select([sock], [], [], 40)[0]
        idle = time.monotonic() - started
        assert readable and sock.recv(1) == b""
    print(f"idle connection closed after {idle:.1f}s")
    assert idle < 21


def test_a_body_trickled_byte_by_byte_is_cut_off_after_10_seconds(servers: Servers) -> None:
    body = rest_body(new_sender())
    with socket.create_connection(("127.0.0.1", servers.rasa_port)) as sock:
        sock.sendall(request_head("POST", "/webhooks/rest/webhook", JSON, len(body)))
        started = time.monotonic()
        answer = trickle_on(sock, body, stop_after=25)
    print(f"trickled body: {answer} after {time.monotonic() - started:.1f}s")
    assert answer is not None and time.monotonic() - started < 14


def trickle_on(sock: socket.socket, data: bytes, stop_after: float) -> object:
    """Trickle `data` on an open connection; what the server sent back, None if nothing."""
    started = time.monotonic()
    for byte in data:
        if time.monotonic() - started > stop_after:
            return None
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return b"closed"
        if select.select([sock], [], [], 1.0)[0]:
            return sock.recv(65536)[:40] or b"closed"
    return None


def test_200_slow_clients_do_not_hold_up_a_patient_and_are_all_cut_off(
    servers: Servers, say: Say
) -> None:
    patient = new_sender()
    say(patient, "hello")
    head = request_head("POST", "/webhooks/rest/webhook", {**JSON, "X-Pad": "p" * 200}, 10)
    sockets = [socket.create_connection(("127.0.0.1", servers.rasa_port)) for _ in range(200)]
    waits, open_after = [], []
    try:
        started = time.monotonic()
        for second in range(16):
            for sock in sockets:
                try:
                    sock.send(head[second : second + 1])
                except OSError:
                    pass
            if second in (3, 6, 9):
                waits.append(timed_say(say, patient))
            time.sleep(max(0.0, started + second + 1 - time.monotonic()))
        readable = select.select(sockets, [], [], 0)[0]
        open_after = [s for s in sockets if s not in readable]
    finally:
        for sock in sockets:
            sock.close()
    print(
        f"200 slow clients: a patient answered in {', '.join(f'{w:.2f}s' for w in waits)}; "
        f"{len(open_after)} slow clients still connected after 16 s"
    )
    assert max(waits) < 2
    assert open_after == []
