"""The clinic page's chat widget in headless Chromium, against the real servers.

What a patient does on the website: opens the page, opens the chat, reads the greeting,
asks questions, clicks a button, reloads the page and carries on, types markup.
"""

import json
import re
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from clinic.clinic_config import load_clinic_config
from scripts.ops.serve import Servers

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "var" / "test-results"
# Generous: the first reply waits for the model to warm up on a busy 2-core machine.
REPLY_TIMEOUT = 45


@pytest.fixture
def fresh_page(browser: WebDriver, servers: Servers) -> WebDriver:
    """The clinic page as a first-time visitor sees it (no stored conversation)."""
    # Cleared from a page of the same origin without the widget, which could save itself back.
    browser.get(servers.page_url + "favicon.svg")
    browser.execute_script("window.localStorage.clear(); window.sessionStorage.clear();")
    browser.get(servers.page_url)
    return browser


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def texts_of(browser: WebDriver, selector: str) -> List[str]:
    # One script call reads them all at once: element by element, the widget can re-render
    # between two reads and Selenium raises a stale element error.
    found = browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText);",
        selector,
    )
    return [normalise(text) for text in found]


def bot_messages(browser: WebDriver) -> List[str]:
    return texts_of(browser, ".rw-response")


def patient_messages(browser: WebDriver) -> List[str]:
    return texts_of(browser, ".rw-client")


def wait_for_bot_message(browser: WebDriver, text: str) -> None:
    """Wait until the bot's message with this text is shown (anywhere in the conversation)."""
    expected = normalise(text)
    try:
        WebDriverWait(browser, REPLY_TIMEOUT).until(lambda b: expected in bot_messages(b))
    except TimeoutException:
        pytest.fail(f"the widget never showed {expected!r}; it shows {bot_messages(browser)}")


def wait_for_new_bot_message(browser: WebDriver, seen: int) -> List[str]:
    """Wait until more than `seen` bot messages are shown; return the new ones."""
    try:
        WebDriverWait(browser, REPLY_TIMEOUT).until(lambda b: len(bot_messages(b)) > seen)
    except TimeoutException:
        pytest.fail(f"no reply after {bot_messages(browser)}")
    return bot_messages(browser)[seen:]


def open_chat(browser: WebDriver) -> None:
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".rw-launcher"))
    browser.find_element(By.CSS_SELECTOR, ".rw-launcher").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".rw-new-message"))


def type_message(browser: WebDriver, text: str) -> None:
    box = browser.find_element(By.CSS_SELECTOR, ".rw-new-message")
    box.send_keys(text)
    browser.find_element(By.CSS_SELECTOR, ".rw-send").click()
    WebDriverWait(browser, 10).until(lambda b: normalise(text) in patient_messages(b))


def buttons(browser: WebDriver) -> Dict[str, WebElement]:
    return {normalise(e.text): e for e in browser.find_elements(By.CSS_SELECTOR, ".rw-reply")}


def session_id(browser: WebDriver) -> str:
    """The conversation id the widget keeps in the tab's storage (the tracker's sender id)."""
    stored = browser.execute_script("return window.sessionStorage.getItem('chat_session');")
    assert stored, "the widget stored no session in sessionStorage"
    return json.loads(stored)["session_id"]


def save_screenshot(browser: WebDriver, name: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    assert browser.save_screenshot(str(path)), f"could not save {path}"
    return path


def test_a_patient_chats_on_the_clinic_page_and_carries_on_after_a_reload(
    fresh_page: WebDriver,
    servers: Servers,
    expected_reply: Callable[[str], str],
    stored_events: Callable[[str, str], List[Dict]],
) -> None:
    browser = fresh_page
    clinic = load_clinic_config()
    assert clinic.name in browser.title
    page_text = browser.find_element(By.TAG_NAME, "body").text
    assert clinic.phone in page_text and clinic.opening_hours in page_text

    # Before it is opened, the chat says nothing; opening it greets the patient.
    assert bot_messages(browser) == []
    open_chat(browser)
    wait_for_bot_message(browser, expected_reply("utter_greet"))

    type_message(browser, "what is microneedling")
    wait_for_bot_message(browser, expected_reply("utter_what_is"))
    type_message(browser, "how long is the recovery")
    wait_for_bot_message(browser, expected_reply("utter_side_effects"))

    type_message(browser, "menu")
    WebDriverWait(browser, REPLY_TIMEOUT).until(lambda b: "Does it hurt?" in buttons(b))
    buttons(browser)["Does it hurt?"].click()
    wait_for_bot_message(browser, expected_reply("utter_pain"))
    assert "Does it hurt?" in patient_messages(browser)

    conversation = session_id(browser)
    before_reload = bot_messages(browser)
    browser.refresh()

    # The history is back, in order, and the greeting is not sent again.
    WebDriverWait(browser, 20).until(lambda b: len(bot_messages(b)) >= len(before_reload))
    assert bot_messages(browser) == before_reload
    assert session_id(browser) == conversation
    # Replies still arrive after the reload (the socket rejoins the conversation's room).
    type_message(browser, "when will I see results")
    wait_for_bot_message(browser, expected_reply("utter_results_timing"))
    assert len(bot_messages(browser)) > len(before_reload)
    save_screenshot(browser, "widget.png")

    # The server kept one conversation across the reload, under the widget's session id.
    typed = [event["text"] for event in stored_events(conversation, "user")]
    assert "what is microneedling" in typed and "when will I see results" in typed
    assert typed.index("what is microneedling") < typed.index("when will I see results")


@pytest.mark.parametrize(
    "markup, marker",
    [
        ("<script>window.__xss=1</script>", 1),
        ('<img src=x onerror="window.__xss=2">', 2),
    ],
)
def test_markup_typed_by_a_patient_is_shown_as_text_and_never_runs(
    fresh_page: WebDriver, markup: str, marker: int
) -> None:
    browser = fresh_page
    open_chat(browser)
    WebDriverWait(browser, REPLY_TIMEOUT).until(lambda b: bot_messages(b))
    seen = len(bot_messages(browser))

    type_message(browser, markup)
    # The bot answers (with its "cannot answer" reply): the markup went through the server.
    wait_for_new_bot_message(browser, seen)

    assert markup in patient_messages(browser)
    assert browser.execute_script("return window.__xss;") is None, f"{markup} ran (marker {marker})"
    conversation = browser.find_element(By.CSS_SELECTOR, ".rw-messages-container")
    assert conversation.find_elements(By.CSS_SELECTOR, "script, img[src='x']") == []
    save_screenshot(browser, f"widget-markup-{marker}.png")


def network_requests(browser: WebDriver) -> Dict[str, Dict[str, str]]:
    """Each request since the last call (DevTools log): its URL and, if so, why it was blocked."""
    requests: Dict[str, Dict[str, str]] = {}
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            requests[params["requestId"]] = {"url": params["request"]["url"], "blocked": ""}
        elif message["method"] == "Network.loadingFailed" and params["requestId"] in requests:
            requests[params["requestId"]]["blocked"] = params.get("blockedReason", "")
    return requests


def test_the_page_loads_everything_from_the_project_and_nothing_from_a_cdn(
    fresh_page: WebDriver, servers: Servers
) -> None:
    browser = fresh_page
    network_requests(browser)
    browser.refresh()
    open_chat(browser)
    WebDriverWait(browser, REPLY_TIMEOUT).until(lambda b: bot_messages(b))

    requests = list(network_requests(browser).values())
    urls = [request["url"] for request in requests]
    assert servers.page_url + "vendor/rasa-webchat.js" in urls
    assert any(url.startswith(servers.socket_url + "/socket.io/") for url in urls), urls
    # The bundle asks for Google Fonts: the page's Content-Security-Policy blocks it.
    ours = (servers.page_url, servers.socket_url, "data:")
    elsewhere = [request for request in requests if not request["url"].startswith(ours)]
    assert [request for request in elsewhere if request["blocked"] != "csp"] == []
