"""What the servers write to their logs at the default level: no message text, no slot
value, no raw sender id; conversations appear by their hashed reference."""

import uuid
from pathlib import Path
from typing import Callable, Dict, List

from actions.log_privacy import conversation_ref
from scripts.serve import Servers


def read_logs(servers: Servers) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace")
                     for log in sorted(Path(servers.log_dir).glob("*.log")))


def test_logs_hold_no_text_no_slot_value_and_only_hashed_conversation_ids(
        servers: Servers, say: Callable[[str, str], List[Dict]]) -> None:
    sender = f"patient-{uuid.uuid4().hex}"
    marker = f"zebrafinch{uuid.uuid4().hex[:8]}"
    say(sender, f"hello, my name is {marker}")
    say(sender, "I have rosacea, can I still get microneedling?")
    say(sender, "check if I can get it")
    say(sender, f"no, I'm {marker} and my skin is fine")
    say(sender, "I want to talk to a human")

    logs = read_logs(servers)
    assert marker not in logs
    assert sender not in logs
    for value in ("rosacea", "Not recommended", "No contraindication found"):
        assert value not in logs, value
    assert servers.env["LOG_ID_SALT"]
    ref = conversation_ref(sender, servers.env["LOG_ID_SALT"])
    # The channel and the action server both log the conversation by its reference.
    assert f"Message received on rest for conversation {ref}" in logs
    assert f"action_screening_result ran for conversation {ref}" in logs or \
        f"action_assess_statement ran for conversation {ref}" in logs
