"""The clinic page and its chat for screen-reader and keyboard-only patients, in headless
Chromium against the real servers: axe-core finds nothing serious, the chat is opened, used
and closed with the keyboard alone, new bot messages land in a live region, and every
button has a name a screen reader can say.
"""

import json
from collections import Counter
from typing import Any, Callable, Dict, List, Optional

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from selenium_axe_python import Axe

from test_widget_browser import (
    REPLY_TIMEOUT,
    RESULTS_DIR,
    bot_messages,
    buttons,
    fresh_page,  # noqa: F401 (the fixture)
    normalise,
    open_chat,
    patient_messages,
    save_screenshot,
    type_message,
    wait_for_bot_message,
)

# What axe-core reports as serious or critical blocks patients (WCAG A/AA failures such as
# unnamed buttons or unreadable contrast); minor and moderate are recorded, not failed on.
BLOCKING = ("serious", "critical")
# More presses than the page has controls: a launcher not reached by then is not reachable.
MAX_TABS = 40


def axe_results(browser: WebDriver) -> Dict[str, Any]:
    """axe-core's full run (every rule, WCAG and best practice) on the page as it is now."""
    axe = Axe(browser)
    axe.inject()
    return axe.run()


def violations_summary(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Each violated rule: its id, impact and how many elements fail it (docs/accessibility.md)."""
    return [
        {
            "rule": violation["id"],
            "impact": violation["impact"],
            "nodes": len(violation["nodes"]),
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
        }
        for violation in results["violations"]
    ]


def record(name: str, results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Saves the summary in var/test-results/axe-<name>.json and returns it."""
    summary = violations_summary(results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    counts = Counter(item["impact"] for item in summary)
    report = {
        "axe_version": results["testEngine"]["version"],
        "url": results["url"],
        "violations_by_impact": dict(counts),
        "violations": summary,
    }
    (RESULTS_DIR / f"axe-{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    return summary


def blocking(summary: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [item for item in summary if item["impact"] in BLOCKING]


def active(browser: WebDriver) -> WebElement:
    return browser.switch_to.active_element


def press(browser: WebDriver, *keys: str) -> None:
    """Keys sent to whatever has the focus, as a keyboard does (no element is clicked)."""
    ActionChains(browser).send_keys(*keys).perform()


def tab_until(
    browser: WebDriver, reached: Callable[[WebElement], bool], backwards: bool = False
) -> WebElement:
    """Presses Tab (Shift+Tab backwards) until the focused element is the one wanted."""
    visited = []
    for _ in range(MAX_TABS):
        if backwards:
            ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(
                Keys.SHIFT
            ).perform()
        else:
            press(browser, Keys.TAB)
        if reached(active(browser)):
            return active(browser)
        visited.append(describe(active(browser))[:80])
    pytest.fail(f"{MAX_TABS} presses of Tab never reached it; the focus went to {visited}")


def describe(element: WebElement) -> str:
    return element.get_attribute("outerHTML")[:200]


def has_class(name: str) -> Callable[[WebElement], bool]:
    return lambda element: name in (element.get_attribute("class") or "").split()


def chat_is_open(browser: WebDriver) -> bool:
    return bool(browser.find_elements(By.CSS_SELECTOR, ".rw-conversation-container"))


def live_region_of(browser: WebDriver, text: str) -> Optional[Dict[str, str]]:
    """The aria-live and role of the nearest live region around the bot message `text`."""
    return browser.execute_script(
        """
        const wanted = arguments[0];
        const message = Array.from(document.querySelectorAll('.rw-response'))
            .find(e => e.innerText.replace(/\\s+/g, ' ').trim() === wanted);
        const region = message && message.closest('[aria-live]');
        return region && {live: region.getAttribute('aria-live'),
                          role: region.getAttribute('role') || ''};
        """,
        normalise(text),
    )


def widget_controls(browser: WebDriver) -> List[WebElement]:
    """Everything shown in the chat that a patient can press or type into (the header's close
    button is there on small screens only)."""
    found = browser.find_elements(
        By.CSS_SELECTOR,
        ".rw-widget-container button, .rw-widget-container [role=button], "
        ".rw-widget-container a[href], .rw-widget-container textarea, "
        ".rw-widget-container input",
    )
    return [element for element in found if element.is_displayed()]


def test_axe_finds_nothing_serious_on_the_page_with_the_chat_closed(
    fresh_page: WebDriver,  # noqa: F811
) -> None:
    browser = fresh_page
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".rw-launcher"))
    summary = record("closed", axe_results(browser))
    assert blocking(summary) == [], json.dumps(blocking(summary), indent=2)


def test_axe_finds_nothing_serious_in_the_open_chat_with_a_conversation(
    fresh_page: WebDriver,  # noqa: F811
    expected_reply: Callable[[str], str],
) -> None:
    browser = fresh_page
    open_chat(browser)
    wait_for_bot_message(browser, expected_reply("utter_greet"))
    type_message(browser, "what is microneedling")
    wait_for_bot_message(browser, expected_reply("utter_what_is"))
    type_message(browser, "menu")
    WebDriverWait(browser, REPLY_TIMEOUT).until(lambda b: "Does it hurt?" in buttons(b))

    summary = record("open", axe_results(browser))
    save_screenshot(browser, "widget-accessibility.png")
    assert blocking(summary) == [], json.dumps(blocking(summary), indent=2)


def test_a_keyboard_only_patient_opens_the_chat_asks_picks_a_button_and_closes_it(
    fresh_page: WebDriver,  # noqa: F811
    expected_reply: Callable[[str], str],
) -> None:
    browser = fresh_page
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".rw-launcher"))

    # Tab through the page to the chat's launcher and open it with Enter.
    launcher = tab_until(browser, has_class("rw-launcher"))
    assert launcher.accessible_name
    press(browser, Keys.ENTER)
    WebDriverWait(browser, 10).until(chat_is_open)
    # The focus moves into the chat, to the message box.
    WebDriverWait(browser, 10).until(lambda b: has_class("rw-new-message")(active(b)))
    wait_for_bot_message(browser, expected_reply("utter_greet"))

    # Type a question and send it with Enter; the answer is announced (a polite live log).
    press(browser, "what is microneedling", Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda b: "what is microneedling" in patient_messages(b))
    answer = expected_reply("utter_what_is")
    wait_for_bot_message(browser, answer)
    assert live_region_of(browser, answer) == {"live": "polite", "role": "log"}

    # The menu's buttons are reached with Shift+Tab from the message box and pressed with
    # Enter (the first) and Space (the second).
    press(browser, "menu", Keys.ENTER)
    WebDriverWait(browser, REPLY_TIMEOUT).until(lambda b: "Does it hurt?" in buttons(b))
    choice = tab_until(browser, lambda e: normalise(e.text) == "Does it hurt?", backwards=True)
    assert choice.accessible_name == "Does it hurt?"
    press(browser, Keys.ENTER)
    wait_for_bot_message(browser, expected_reply("utter_pain"))
    assert "Does it hurt?" in patient_messages(browser)

    # Escape closes the chat and gives the focus back to the launcher.
    press(browser, Keys.ESCAPE)
    WebDriverWait(browser, 10).until(lambda b: not chat_is_open(b))
    WebDriverWait(browser, 10).until(lambda b: has_class("rw-launcher")(active(b)))

    # Reopened with Space, the conversation is still there and the focus in the message box;
    # on a wide screen the launcher is the close button: Tab reaches it, Enter closes.
    press(browser, Keys.SPACE)
    WebDriverWait(browser, 10).until(chat_is_open)
    WebDriverWait(browser, 10).until(lambda b: has_class("rw-new-message")(active(b)))
    assert normalise(answer) in bot_messages(browser)
    assert tab_until(browser, has_class("rw-launcher")).accessible_name == "Close the chat"
    press(browser, Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda b: not chat_is_open(b))
    WebDriverWait(browser, 10).until(lambda b: has_class("rw-launcher")(active(b)))


def test_the_page_button_ask_our_assistant_opens_the_chat_from_the_keyboard(
    fresh_page: WebDriver,  # noqa: F811
    expected_reply: Callable[[str], str],
) -> None:
    browser = fresh_page
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".rw-launcher"))
    tab_until(browser, lambda e: e.get_attribute("id") == "open-chat")
    press(browser, Keys.ENTER)
    WebDriverWait(browser, 10).until(chat_is_open)
    WebDriverWait(browser, 10).until(lambda b: has_class("rw-new-message")(active(b)))
    wait_for_bot_message(browser, expected_reply("utter_greet"))


def test_every_control_in_the_chat_has_a_name_a_screen_reader_says(
    fresh_page: WebDriver,  # noqa: F811
    expected_reply: Callable[[str], str],
) -> None:
    browser = fresh_page
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".rw-launcher"))
    launcher = browser.find_element(By.CSS_SELECTOR, ".rw-launcher")
    assert launcher.accessible_name == "Open the chat"

    open_chat(browser)
    wait_for_bot_message(browser, expected_reply("utter_greet"))
    type_message(browser, "menu")
    WebDriverWait(browser, REPLY_TIMEOUT).until(lambda b: "Does it hurt?" in buttons(b))

    # Chromium's own accessibility tree gives the names (WebDriver's computed label).
    names = {describe(control): control.accessible_name for control in widget_controls(browser)}
    assert len(names) >= 5, names
    assert [html for html, name in names.items() if not name.strip()] == []
    by_class = {
        "rw-launcher": "Close the chat",
        "rw-send": "Send",
        "rw-new-message": "Your message",
    }
    for css_class, name in by_class.items():
        element = browser.find_element(By.CSS_SELECTOR, f".{css_class}")
        assert element.accessible_name == name, describe(element)
    close_button = browser.find_element(By.CSS_SELECTOR, ".rw-close-button")
    assert close_button.get_attribute("aria-label") == "Close the chat"
