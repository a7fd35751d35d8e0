"""Typed commands ("/...") are checked before Rasa's parser sees them
(nlu_components/typed_commands.py): the check itself without Rasa, then against the real
servers, where a long one once held every other patient up for 55 s and odd ones were
written to the log verbatim."""

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List

import pytest

from nlu_components.input_checks import command_intent, reads_as_command
from raw_http import send
from rest_conversations import new_sender, texts
from scripts.ops.serve import Servers

Say = Callable[[str, str], List[Dict]]
INTENTS = ["greet", "ask_pain", "restart"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/greet", True),
        ("  /greet", True),
        ("\x00\x1b /{", True),
        ("\ud800/x", True),
        ("does it hurt?", False),
        ("", False),
        ("   ", False),
        ("a /greet", False),
        (None, False),
    ],
)
def test_a_message_reads_as_a_command_when_its_first_visible_character_is_a_slash(
    text: object, expected: bool
) -> None:
    assert reads_as_command(text) is expected


@pytest.mark.parametrize(
    "text, intent",
    [
        ("/greet", "greet"),
        (" /ask_pain\n", "ask_pain"),
        ("/nonsense", None),
        ("/greet@0.9", None),
        ('/greet{"a": 1}', None),
        ("/greet extra", None),
        ("/", None),
        ("/{", None),
        ("/@x", None),
        ("//greet", None),
        ("/" + "a" * 100, None),
        ("/" + "greet" + " " * 100, None),
    ],
)
def test_only_an_exact_intent_of_the_domain_is_a_command(text: str, intent: str) -> None:
    assert command_intent(text, INTENTS) == intent


def rasa_log(servers: Servers) -> str:
    return (Path(servers.log_dir) / servers.rasa_log_name).read_text(errors="replace")


def timed_say(say: Say, sender: str, message: str) -> float:
    started = time.monotonic()
    assert texts(say(sender, message))
    return time.monotonic() - started


def test_a_long_typed_command_is_answered_at_once_and_holds_no_one_up(
    servers: Servers, say: Say, expected_reply: Callable[[str], str]
) -> None:
    other = new_sender()
    say(other, "hello")
    # Under the REST channel's body limit, so it reaches the parser.
    long_command = "/" + "ask_pain " * 12000
    with ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        long_reply = pool.submit(say, new_sender(), long_command)
        time.sleep(0.2)
        other_wait = pool.submit(timed_say, say, other, "does it hurt?").result()
        replies = long_reply.result()
        long_wait = time.monotonic() - started
    print(
        f"typed command of {len(long_command)} characters answered in {long_wait:.2f}s; "
        f"another patient meanwhile in {other_wait:.2f}s"
    )
    assert texts(replies)[-1] == expected_reply("utter_typed_command")
    assert other_wait < 2
    assert long_wait < 5


def test_a_2_mb_typed_command_gets_an_answer_at_once_and_holds_no_one_up(
    servers: Servers, say: Say
) -> None:
    other = new_sender()
    say(other, "hello")
    body = json.dumps({"sender": new_sender(), "message": "/" + "x" * 2_000_000}).encode()
    with ThreadPoolExecutor(2) as pool:
        huge = pool.submit(
            send,
            servers.rasa_port,
            "POST",
            "/webhooks/rest/webhook",
            {"Content-Type": "application/json"},
            body,
        )
        time.sleep(0.2)
        other_wait = pool.submit(timed_say, say, other, "does it hurt?").result()
        answer = huge.result()
    print(
        f"2 MB typed command answered {answer.status} in {answer.seconds:.2f}s; "
        f"another patient meanwhile in {other_wait:.2f}s"
    )
    assert answer.status == 413 and answer.seconds < 5
    assert other_wait < 2


@pytest.mark.parametrize(
    "template",
    [
        '/foo{{"a": "{marker}"',
        "/@{marker}",
        '/{{"{marker}": 1}}',
        "/{marker}",
        "/greet@0.99{marker}",
        "\x00/@{marker}",
    ],
)
def test_an_unreadable_typed_command_gets_the_typed_command_reply_and_stays_out_of_the_log(
    template: str, servers: Servers, say: Say, expected_reply: Callable[[str], str]
) -> None:
    marker = f"zebrafinch{uuid.uuid4().hex[:8]}"
    sender = new_sender()
    say(sender, "hello")
    replies = texts(say(sender, template.format(marker=marker)))
    if not template.startswith("\x00"):  # the guarded turn knows "/" only at the very start
        assert replies == [expected_reply("utter_typed_command")]
    assert texts(say(sender, "does it hurt?")) == [expected_reply("utter_pain")]
    assert marker not in rasa_log(servers)
