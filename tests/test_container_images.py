"""The images of deploy/docker/, built here with podman from the base this project makes
(scripts/ops/images.py: debootstrap, podman import) and run as Compose runs them: the action
server, a Rasa server with the model mounted read-only, and the clinic page. A patient's REST
messages get the article's answer and a screening that reaches its outcome."""

import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Iterator, List

import pytest

from clinic.contraindication_rules import load_rules
from channels import conversation_ids
from scripts.ops import images
from scripts.ops.container import PORTS
from scripts.ops.processes import free_port
from scripts.ops.serve import DEFAULT_MODEL, PROJECT_ROOT
from rest_conversations import is_consent

START_SECONDS = 600
QUESTIONS = [question.text for question in load_rules().questions.values()]
# As Compose runs the servers (deploy/compose.yaml): read-only, no capabilities, no new
# privileges, writable only where a server must write.
HARDENED = [
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--tmpfs=/tmp",
    "--tmpfs=/app/build:U",
    "--tmpfs=/home/assistant:U",
    "--tmpfs=/app/.rasa:U",
]


@dataclass
class Deployment:
    name: str
    secret: str
    rest_url: str
    page_url: str

    def container(self, role: str) -> str:
        return f"{self.name}-{role}"


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["podman", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {done.stderr.strip()}")
    return done


def wait_until_up(url: str, deployment: Deployment, role: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, OSError):
            state = podman(
                "inspect", "--format", "{{.State.Status}}", deployment.container(role), check=False
            ).stdout.strip()
            if state != "running":
                logs = podman("logs", deployment.container(role), check=False)
                pytest.fail(
                    f"the {role} container is {state}: {(logs.stdout + logs.stderr)[-3000:]}"
                )
            time.sleep(2)
    pytest.fail(f"the {role} container did not answer {url} in {START_SECONDS} s")


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    built = subprocess.run(
        [sys.executable, "-m", "scripts.ops.images", "build"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    name = f"clinic-check-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32)
    rasa_port, page_port = free_port(), free_port()
    env = {
        "TRACKER_STORE_URL": "sqlite:////app/var/conversations.db",
        "LOCK_STORE_TYPE": "in_memory",
        "ACTION_ENDPOINT_URL": f"http://{name}-actions:{PORTS['actions']}/webhook",
        "WEB_ORIGIN": f"http://127.0.0.1:{page_port}",
        conversation_ids.SECRET_VARIABLE: secret,
        "LOG_ID_SALT": secrets.token_hex(16),
        "RASA_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
    }
    env_flags = [flag for key, value in env.items() for flag in ("--env", f"{key}={value}")]
    podman("network", "create", name)
    podman("volume", "create", f"{name}-var")
    common = ["run", "--detach", "--network", name, *images.LIMITS, *env_flags]
    try:
        podman(*common, "--name", f"{name}-actions", *HARDENED, images.ASSISTANT_TAG, "actions")
        podman(
            *common,
            "--name",
            f"{name}-rasa",
            *HARDENED,
            "--volume",
            f"{DEFAULT_MODEL.parent}:/app/models:ro",
            "--volume",
            f"{name}-var:/app/var:U",
            "--publish",
            f"127.0.0.1:{rasa_port}:{PORTS['rasa']}",
            images.ASSISTANT_TAG,
            "rasa",
        )
        podman(
            *common,
            "--name",
            f"{name}-page",
            "--read-only",
            "--cap-drop=ALL",
            "--publish",
            f"127.0.0.1:{page_port}:{PORTS['page']}",
            images.PAGE_TAG,
        )
        found = Deployment(
            name,
            secret,
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
            f"http://127.0.0.1:{page_port}/",
        )
        wait_until_up(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", found, "rasa")
        wait_until_up(found.page_url, found, "page")
        yield found
    finally:
        for role in ("rasa", "actions", "page"):
            podman("rm", "--force", "--time", "5", f"{name}-{role}", check=False)
        podman("volume", "rm", "--force", f"{name}-var", check=False)
        podman("network", "rm", "--force", name, check=False)


def say(deployment: Deployment, sender: str, message: str) -> List[str]:
    request = urllib.request.Request(
        deployment.rest_url,
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200
        return [reply["text"] for reply in json.loads(response.read()) if "text" in reply]


def test_the_servers_run_as_the_unprivileged_user_and_pass_their_health_checks(
    deployment: Deployment,
) -> None:
    for role in ("rasa", "actions", "page"):
        container = deployment.container(role)
        assert podman("exec", container, "id", "-u").stdout.strip() == "10001", role
        assert podman("healthcheck", "run", container, check=False).returncode == 0, role


def test_a_patient_gets_the_articles_answer_and_a_screening_outcome(deployment: Deployment) -> None:
    sender = conversation_ids.issue(conversation_ids.REST, deployment.secret)
    assert any("numbing" in reply for reply in say(deployment, sender, "does it hurt?"))
    replies = say(deployment, sender, "am i a good candidate for microneedling?")
    assert any(map(is_consent, replies)), replies
    for answer in ("yes", "no", "no", "no"):  # the consent, then the check's questions
        replies = say(deployment, sender, answer)
        assert any(question in replies for question in QUESTIONS), replies
    replies = say(deployment, sender, "no")
    assert any(r.startswith("Result of the check: No contraindication found.") for r in replies), (
        replies
    )


def test_the_page_container_serves_the_clinic_page_with_the_widget(deployment: Deployment) -> None:
    with urllib.request.urlopen(deployment.page_url, timeout=10) as response:
        page = response.read().decode()
    assert "rasa-webchat" in page or "webchat" in page.lower()


def test_a_conversation_id_the_deployment_did_not_issue_is_refused(deployment: Deployment) -> None:
    # Signed with another secret: the container reads its own from the environment.
    forged = conversation_ids.issue(conversation_ids.REST, secrets.token_urlsafe(32))
    with pytest.raises(urllib.error.HTTPError) as refused:
        say(deployment, forged, "does it hurt?")
    assert refused.value.code == 403
