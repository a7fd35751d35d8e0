"""Shared fixtures: the trained model, the domain's responses, and the real servers."""

import json
import sqlite3
import sys
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from clinic.answers import with_article_answers  # noqa: E402
from clinic.clinic_config import load_clinic_config  # noqa: E402
from fake_providers import FakeProviders, channel_env  # noqa: E402
from scripts.ops.processes import free_port  # noqa: E402
from scripts.ops.serve import Servers, running_servers  # noqa: E402

MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
STAFF_LOCKOUT_SECONDS = 4


@pytest.fixture(scope="session")
def model_path() -> Path:
    assert MODEL.exists(), f"{MODEL} is missing: run the tests with `make test`, which trains it"
    return MODEL


@pytest.fixture(scope="session")
def expected_reply() -> Callable[[str], str]:
    """The text of a domain response as a patient sees it, clinic details filled in (the
    article's answers built from the article, as in build/domain)."""
    domain = with_article_answers(
        yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    )
    slots = load_clinic_config().as_slots()

    def render(response: str) -> str:
        return domain["responses"][response][0]["text"].format(**slots)

    return render


@pytest.fixture(scope="session")
def providers() -> Iterator[FakeProviders]:
    """The loopback fake of Twilio's, Slack's and Facebook's APIs."""
    fake = FakeProviders()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def servers(
    model_path: Path, providers: FakeProviders, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """The real action server, Rasa server, clinic page and staff inbox on free ports, with their own
    SQLite tracker store, and the SMS, WhatsApp, Messenger and Slack channels sending to the fakes."""
    workdir = tmp_path_factory.mktemp("servers")
    tracker_db = workdir / "conversations.db"
    action_port, web_port = free_port(), free_port()
    with running_servers(
        rasa_port=free_port(),
        action_port=action_port,
        model=model_path,
        tracker_db=tracker_db,
        log_dir=workdir / "logs",
        extra_env={
            "TRACKER_STORE_URL": f"sqlite:///{tracker_db}",
            "ACTION_ENDPOINT_URL": f"http://localhost:{action_port}/webhook",
            "LOCK_STORE_TYPE": "in_memory",
            "WEB_ORIGIN": f"http://localhost:{web_port}",
            # The staff inbox's lockout, short enough to wait out in a test.
            "STAFF_LOCKOUT_SECONDS": str(STAFF_LOCKOUT_SECONDS),
            # The phone line's clock: a test writes the time it wants (tests/test_voice_call.py).
            "TWILIO_VOICE_CLOCK_FILE": str(workdir / "voice_clock.txt"),
            **channel_env(providers.url),
        },
        web_port=web_port,
        credentials=workdir / "credentials.yml",
    ) as running:
        yield running


@pytest.fixture
def say(servers: Servers) -> Callable[[str, str], List[Dict]]:
    """Send one message over the REST channel and return the bot's replies."""

    def send(sender: str, message: str) -> List[Dict]:
        body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
        request = urllib.request.Request(
            servers.rest_url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            return json.loads(response.read().decode("utf-8"))

    return send


@pytest.fixture
def stored_events(servers: Servers) -> Callable[[str, str], List[Dict]]:
    """The events of one type ("user", "slot", ...) of a conversation, read from the tracker store."""

    def read(sender: str, type_name: str) -> List[Dict]:
        db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
        with sqlite3.connect(db) as connection:
            rows = connection.execute(
                "SELECT data FROM events WHERE sender_id = ? AND type_name = ? ORDER BY id",
                (sender, type_name),
            ).fetchall()
        return [json.loads(data) for (data,) in rows]

    return read


@pytest.fixture
def slot_events(stored_events: Callable[[str, str], List[Dict]]) -> Callable[[str], List[tuple]]:
    """(slot, value) for every slot event of a conversation."""
    return lambda sender: [(e["name"], e["value"]) for e in stored_events(sender, "slot")]


from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402

# Debian's Chromium and its driver (installed by `make browser`) and the flags the guide
# gives for them on these machines: the browser tests' shared `browser` fixture.
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Debian Chromium; Selenium downloads nothing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    # DevTools network events, to see every response the page actually received.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


from tiers import TIERS, tier  # noqa: E402


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Each test gets its tier's marker (tests/tiers.py): `pytest -m unit` runs the first."""
    for item in items:
        chosen = tier(item.path, getattr(item, "fixturenames", ()))
        assert chosen in TIERS
        item.add_marker(getattr(pytest.mark, chosen))
