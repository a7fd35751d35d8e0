"""The staff inbox in headless Chromium, against the real servers: what a member of staff
does when a patient reports an urgent symptom."""

from typing import Callable

import requests
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from inbox_client import PASSWORD, alert_of, alert_status, new_account
from rest_conversations import new_sender
from scripts.ops.serve import Servers
from staff.alert_rules import REASONS, URGENT
from test_widget_browser import normalise, save_screenshot

# Saved in var/test-results/ (a test run leaves the tree clean); docs/staff_inbox.png is a
# copy made by hand for docs/clinic_guide.md.
SCREENSHOT = "staff_inbox.png"
MESSAGE = "it's oozing and I have a fever"


def page_text(browser: WebDriver) -> str:
    return normalise(browser.find_element(By.TAG_NAME, "body").text)


def wait_until(browser: WebDriver, condition: Callable[[WebDriver], bool]) -> None:
    """Waits across a form's navigation: an element read while the next page replaces the
    old one is stale or not there yet, and that means "not yet" (seen failing in CI)."""
    WebDriverWait(
        browser, 20, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
    ).until(condition)


def test_staff_sign_in_open_an_urgent_alert_mark_it_handled_and_sign_out(
    browser: WebDriver, servers: Servers
) -> None:
    username = new_account(servers, name="dana")
    sender = new_sender()
    answer = requests.post(
        servers.rest_url, json={"sender": sender, "message": MESSAGE}, timeout=60
    )
    assert answer.status_code == 200
    number = alert_of(servers, sender, URGENT)

    browser.get(servers.inbox_url)  # signed out: the sign-in page
    wait_until(browser, lambda b: b.current_url.endswith("/login"))
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    wait_until(browser, lambda b: f"Signed in as {username}" in page_text(b))

    link = browser.find_element(By.CSS_SELECTOR, f'a[href="/alerts/{number}"]')
    assert normalise(link.text) == REASONS[URGENT]
    link.click()
    wait_until(
        browser,
        lambda b: (
            b.current_url.endswith(f"/alerts/{number}")
            and bool(b.find_elements(By.CSS_SELECTOR, "ol.transcript"))
        ),
    )
    transcript = normalise(browser.find_element(By.CSS_SELECTOR, "ol.transcript").text)
    assert MESSAGE in transcript and "Assistant" in transcript
    assert sender not in page_text(browser)

    browser.find_element(By.ID, "mark-handled").click()
    wait_until(
        browser,
        lambda b: f"handled by {username}" in normalise(b.find_element(By.ID, "status").text),
    )
    assert alert_status(servers, number) == ("handled", username)
    assert browser.find_elements(By.ID, "mark-handled") == []
    save_screenshot(browser, SCREENSHOT)

    browser.find_element(By.ID, "sign-out").click()
    wait_until(browser, lambda b: b.current_url.endswith("/login"))
    browser.get(servers.inbox_url + f"alerts/{number}")  # the session is over
    assert browser.current_url.endswith("/login") and MESSAGE not in page_text(browser)
