"""The clinic page is filled in from the clinic config, as text, and serves only its own files."""

import json
import re

from actions.clinic_config import ClinicConfig, load_clinic_config
from scripts.web_page import build_routes, content_security_policy, render_page

SOCKET_URL = "http://localhost:5005"


def test_the_page_shows_the_clinics_details() -> None:
    clinic = load_clinic_config()
    page = render_page(clinic, SOCKET_URL)
    assert f"<title>Microneedling at {clinic.name}</title>" in page
    assert clinic.phone in page and clinic.opening_hours in page
    assert f'href="{clinic.booking_url}"' in page


def test_clinic_details_are_written_as_text_even_with_markup_in_them() -> None:
    clinic = ClinicConfig(name='Skin & Co </script><script>alert(1)</script>', phone="+1 555 0100",
                          booking_url="https://example.com/book?a=1&b=2",
                          opening_hours="<b>9-5</b>", emergency_number="911")
    page = render_page(clinic, SOCKET_URL)
    assert "<script>alert(1)" not in page and "<b>9-5</b>" not in page
    assert "Skin &amp; Co &lt;/script&gt;" in page and "&lt;b&gt;9-5&lt;/b&gt;" in page
    settings = re.search(r'<script id="chat-settings" type="application/json">(.*?)</script>', page, re.S)
    assert json.loads(settings.group(1))["title"] == clinic.name


def test_the_widget_is_configured_for_this_rasa_server() -> None:
    page = render_page(load_clinic_config(), "https://chat.example-clinic.com")
    settings = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))
    assert settings["socketUrl"] == "https://chat.example-clinic.com"
    assert settings["initPayload"] == "/greet"
    assert settings["storage"] in ("local", "session")


def test_scripts_and_connections_are_limited_to_the_page_and_the_rasa_server() -> None:
    policy = content_security_policy("https://chat.example-clinic.com")
    assert "script-src 'self';" in policy
    assert "connect-src 'self' https://chat.example-clinic.com wss://chat.example-clinic.com;" in policy


def test_only_the_pages_own_files_are_served() -> None:
    routes = build_routes(load_clinic_config(), SOCKET_URL)
    assert set(routes) == {"/", "/index.html", "/static/clinic.css", "/static/chat.js",
                           "/favicon.svg", "/vendor/rasa-webchat.js"}
    bundle, content_type = routes["/vendor/rasa-webchat.js"]
    assert content_type.startswith("text/javascript") and b"WebChat" in bundle
