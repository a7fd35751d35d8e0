"""Neither server has a login of its own, so both listen on loopback unless told otherwise."""

import ipaddress
import json
import urllib.request
from pathlib import Path
from typing import Iterator, Set, Tuple

import pytest

from rest_conversations import is_consent
from scripts.ops.processes import free_port
from scripts.ops.serve import Servers, running_servers

LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def process_tree(pid: int) -> Iterator[int]:
    """`pid` and its descendants (Sanic may serve from worker processes)."""
    yield pid
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            yield from process_tree(int(child))


def _address(hex_address: str) -> str:
    host, _ = hex_address.split(":")
    raw = bytes.fromhex(host)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening_addresses(pid: int) -> Set[Tuple[str, int]]:
    """(address, port) of every TCP socket the process (tree) listens on."""
    inodes = set()
    for process in process_tree(pid):
        for fd in Path(f"/proc/{process}/fd").iterdir():
            try:
                target = fd.readlink().name
            except FileNotFoundError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and inode in inodes:
                found.add((_address(local), int(local.rsplit(":", 1)[1], 16)))
    return found


def test_every_server_listens_on_loopback_only(servers: Servers) -> None:
    for name, process, port in [
        ("Rasa server", servers.rasa_server, servers.rasa_port),
        ("action server", servers.action_server, servers.action_port),
        ("clinic page", servers.web_page, servers.web_port),
        ("alert sender", servers.alert_sender, servers.alert_sender_port),
        ("staff inbox", servers.staff_inbox, servers.inbox_port),
    ]:
        assert listening_addresses(process.pid) == {("127.0.0.1", port)}, name


def test_a_configured_interface_is_used_and_the_servers_still_reach_each_other(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interface = "127.0.0.2"  # another loopback address, not the default one
    monkeypatch.setenv("RASA_INTERFACE", interface)
    monkeypatch.setenv("ACTION_INTERFACE", interface)
    monkeypatch.delenv("ACTION_ENDPOINT_URL", raising=False)
    rasa_port, action_port = free_port(), free_port()
    with running_servers(
        rasa_port=rasa_port,
        action_port=action_port,
        model=model_path,
        tracker_db=tmp_path / "c.db",
        log_dir=tmp_path / "logs",
        credentials=tmp_path / "credentials.yml",
        extra_env={"TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'c.db'}"},
    ) as running:
        assert listening_addresses(running.rasa_server.pid) == {(interface, rasa_port)}
        assert listening_addresses(running.action_server.pid) == {(interface, action_port)}
        assert running.rest_url == f"http://{interface}:{rasa_port}/webhooks/rest/webhook"
        # The screening's questions come from the action server.
        # No sender: the REST channel starts a conversation and issues its id.
        body = json.dumps({"message": "am i a good candidate for microneedling?"}).encode()
        request = urllib.request.Request(
            running.rest_url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = json.loads(response.read())
        # The consent before the questions: a response chosen by the action server's slot.
        assert any(is_consent(reply.get("text", "")) for reply in replies), replies
