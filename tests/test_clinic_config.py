"""The clinic-editable config: the committed file is valid, mistakes get a clear error."""

from pathlib import Path

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
