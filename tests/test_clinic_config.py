"""The clinic-editable config: the committed file is valid, mistakes get a clear error,
and the phone line knows when the clinic is open."""

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from clinic.clinic_config import ClinicConfigError, load_clinic_config, parse_clinic_config
from scripts.buildtime.build_domain import build_domain

VALID = {
    "clinic": {
        "name": "Test Clinic",
        "phone": "+44 20 7946 0000",
        "booking_url": "https://example.org/book",
        "opening_hours": "Mon-Fri 9-5",
        "emergency_number": "999",
        "privacy_url": "https://example.org/privacy",
        "retention_days": 30,
        "time_zone": "Europe/London",
        "opening_times": {
            "monday": "09:00-17:00",
            "tuesday": "09:00-17:00",
            "wednesday": "09:00-17:00",
            "thursday": "09:00-17:00",
            "friday": "09:00-17:00",
            "saturday": "10:00-13:00",
        },
    }
}


def with_clinic(**changes: object) -> dict:
    return {"clinic": {**VALID["clinic"], **changes}}


def test_the_committed_config_is_valid() -> None:
    config = load_clinic_config()
    assert config.name and config.phone and config.booking_url.startswith("http")


def test_slots_are_named_for_the_domain() -> None:
    assert parse_clinic_config(VALID).as_slots() == {
        "clinic_name": "Test Clinic",
        "clinic_phone": "+44 20 7946 0000",
        "clinic_booking_url": "https://example.org/book",
        "clinic_opening_hours": "Mon-Fri 9-5",
        "clinic_emergency_number": "999",
        "clinic_privacy_url": "https://example.org/privacy",
        "clinic_retention_days": "30",
        # Without a Spanish wording, the Spanish replies show the English one.
        "clinic_opening_hours_es": "Mon-Fri 9-5",
    }
    spanish = parse_clinic_config(with_clinic(opening_hours_es="lunes a viernes de 9 a 17 h"))
    assert spanish.as_slots()["clinic_opening_hours_es"] == "lunes a viernes de 9 a 17 h"


def test_an_unquoted_emergency_number_is_accepted() -> None:
    assert parse_clinic_config(with_clinic(emergency_number=112)).emergency_number == "112"


@pytest.mark.parametrize(
    "raw, message",
    [
        (with_clinic(phone=""), "'phone' is missing or empty"),
        (with_clinic(phone="call us!"), "'phone' has an invalid value"),
        (with_clinic(booking_url="example.org/book"), "'booking_url' has an invalid value"),
        (with_clinic(emergency_number="nine-one-one"), "'emergency_number' has an invalid value"),
        (with_clinic(opening_hours=None), "'opening_hours' is missing or empty"),
        (with_clinic(opening_hours_es=" "), "'opening_hours_es' is missing or empty"),
        (with_clinic(emergency=True), "unknown key 'emergency'"),
        (with_clinic(name=["a", "b"]), "'name' must be text"),
        (with_clinic(time_zone=None), "'time_zone' is missing"),
        (with_clinic(time_zone="Mars/Olympus"), "not a known time zone"),
        (with_clinic(opening_times=None), "'opening_times' is missing"),
        (with_clinic(opening_times={"funday": "09:00-17:00"}), "'funday', not a weekday"),
        (with_clinic(opening_times={"monday": "9am-5pm"}), "not a range such as 09:00-18:00"),
        (with_clinic(opening_times={"monday": "17:00-09:00"}), "closes before it opens"),
        (with_clinic(opening_times={"monday": 900}), "not a range such as"),
        ({"name": "x"}, "expected a top-level 'clinic:' section"),
        (None, "expected a top-level 'clinic:' section"),
    ],
)
def test_mistakes_are_named(raw: object, message: str) -> None:
    with pytest.raises(ClinicConfigError, match=message):
        parse_clinic_config(raw)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ClinicConfigError) as error:
        parse_clinic_config(with_clinic(phone="", booking_url="nope"))
    assert "2 problem(s)" in str(error.value)


def test_unreadable_files_get_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClinicConfigError, match="file not found"):
        load_clinic_config(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("clinic: [unclosed")
    with pytest.raises(ClinicConfigError, match="not valid YAML"):
        load_clinic_config(broken)


def test_build_domain_turns_the_config_into_slots(tmp_path: Path) -> None:
    config = tmp_path / "clinic.yml"
    config.write_text(yaml.safe_dump(with_clinic(phone="+1 555 999 0000")))
    out = build_domain(tmp_path / "domain", config)
    slots = yaml.safe_load((out / "clinic.yml").read_text())["slots"]
    assert slots["clinic_phone"]["initial_value"] == "+1 555 999 0000"
    assert slots["clinic_phone"]["influence_conversation"] is False
    assert (out / "domain.yml").exists()


LONDON = ZoneInfo("Europe/London")
# 2026-12-07 is a Monday, 2026-12-12 a Saturday, 2026-12-13 a Sunday.
OPENING_CASES = [
    (datetime(2026, 12, 7, 9, 0, tzinfo=LONDON), True),  # opens on the minute
    (datetime(2026, 12, 7, 8, 59, tzinfo=LONDON), False),
    (datetime(2026, 12, 7, 16, 59, tzinfo=LONDON), True),
    (datetime(2026, 12, 7, 17, 0, tzinfo=LONDON), False),  # closed from closing time
    (datetime(2026, 12, 12, 10, 30, tzinfo=LONDON), True),  # Saturday morning
    (datetime(2026, 12, 12, 14, 0, tzinfo=LONDON), False),  # Saturday afternoon
    (datetime(2026, 12, 13, 11, 0, tzinfo=LONDON), False),  # Sunday: not listed, closed
    # The time zone: 08:30 in New York is 13:30 in London, Monday: open.
    (datetime(2026, 12, 7, 8, 30, tzinfo=ZoneInfo("America/New_York")), True),
    # 20:00 UTC on a Friday is 20:00 in London (winter): closed.
    (datetime(2026, 12, 11, 20, 0, tzinfo=timezone.utc), False),
]


@pytest.mark.parametrize("at, is_open", OPENING_CASES)
def test_open_or_closed_is_decided_in_the_clinics_time_zone(at: datetime, is_open: bool) -> None:
    assert parse_clinic_config(VALID).opening_times.is_open(at) is is_open


def test_summer_time_moves_the_hours_with_the_clinic() -> None:
    times = parse_clinic_config(VALID).opening_times
    # In July London is UTC+1: 08:30 UTC is 09:30 there (open), in December 08:30 (closed).
    assert times.is_open(datetime(2026, 7, 6, 8, 30, tzinfo=timezone.utc))
    assert not times.is_open(datetime(2026, 12, 7, 8, 30, tzinfo=timezone.utc))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_clinic_config(VALID).opening_times.is_open(datetime(2026, 12, 7, 10, 0))


def test_open_until_midnight() -> None:
    times = parse_clinic_config(with_clinic(opening_times={"monday": "18:00-24:00"})).opening_times
    assert times.is_open(datetime(2026, 12, 7, 23, 59, tzinfo=LONDON))
    assert not times.is_open(datetime(2026, 12, 8, 0, 0, tzinfo=LONDON))


def test_the_committed_config_has_saturday_mornings_in_new_york() -> None:
    times = load_clinic_config().opening_times
    assert times.time_zone == "America/New_York"
    assert times.is_open(datetime(2026, 12, 12, 12, 30, tzinfo=ZoneInfo("America/New_York")))
    assert not times.is_open(datetime(2026, 12, 12, 13, 0, tzinfo=ZoneInfo("America/New_York")))
