"""The clinic's contact details: loaded from the clinic-editable YAML file and validated."""

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List

from clinic.data_files import problems_message, read_yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLINIC_CONFIG_PATH = PROJECT_ROOT / "knowledge" / "clinic_config.yml"

_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,24}$")
_EMERGENCY = re.compile(r"^[0-9]{2,6}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_DAYS = re.compile(r"^[1-9][0-9]{0,3}$")


class ClinicConfigError(ValueError):
    """The clinic config file is missing, unreadable or has wrong values."""


@dataclass(frozen=True)
class ClinicConfig:
    """What patients are told about how to reach the clinic."""

    name: str
    phone: str
    booking_url: str
    opening_hours: str
    emergency_number: str
    privacy_url: str
    # How long conversations are kept (scripts/ops/conversations.py prune); the consent before
    # the check tells patients this.
    retention_days: str
    # The opening hours as the Spanish replies say them; without it they show `opening_hours`.
    opening_hours_es: str = ""

    def as_slots(self) -> Dict[str, str]:
        """The values as the domain's `clinic_*` slots that responses read."""
        slots = {f"clinic_{key}": value for key, value in asdict(self).items()}
        slots["clinic_opening_hours_es"] = self.opening_hours_es or self.opening_hours
        return slots


_CHECKS = {
    "name": (None, "the clinic's name, e.g. Riverside Skin Clinic"),
    "phone": (_PHONE, "a phone number of digits, spaces and + ( ) - ."),
    "booking_url": (_URL, "a web address starting with http:// or https://"),
    "opening_hours": (None, "e.g. Monday to Friday 9am to 6pm"),
    "emergency_number": (_EMERGENCY, "digits only, e.g. 911, 112 or 999"),
    "privacy_url": (_URL, "the clinic's privacy notice, a web address starting with https://"),
    "retention_days": (_DAYS, "a whole number of days, e.g. 30"),
}
# Keys a clinic may leave out.
_OPTIONAL = {
    "opening_hours_es": (None, "the opening hours in Spanish, e.g. lunes a viernes de 9 a 18 h")
}


def parse_clinic_config(raw: Any, source: str = "clinic config") -> ClinicConfig:
    """Validate the parsed YAML and return the config, or raise listing every problem."""
    if not isinstance(raw, dict) or not isinstance(raw.get("clinic"), dict):
        raise ClinicConfigError(f"{source}: expected a top-level 'clinic:' section.")
    section: Dict[str, Any] = raw["clinic"]
    problems: List[str] = []
    checks = {**_CHECKS, **_OPTIONAL}
    for key in sorted(set(section) - set(checks)):
        problems.append(f"unknown key '{key}' (allowed: {', '.join(checks)})")
    values: Dict[str, str] = {}
    for key, (pattern, hint) in checks.items():
        value = section.get(key)
        if key in _OPTIONAL and key not in section:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(f"'{key}' is missing or empty ({hint})")
            continue
        # YAML reads 911 as a number; a phone-like value must be quoted to keep leading zeros.
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            problems.append(f"'{key}' must be text ({hint})")
            continue
        text = str(value).strip()
        if pattern is not None and not pattern.match(text):
            problems.append(f"'{key}' has an invalid value {text!r} ({hint})")
            continue
        values[key] = text
    if problems:
        raise ClinicConfigError(problems_message(source, problems))
    return ClinicConfig(**values)


def load_clinic_config(path: Path = CLINIC_CONFIG_PATH) -> ClinicConfig:
    """Read and validate the clinic config file."""
    return parse_clinic_config(read_yaml(path, ClinicConfigError), source=str(path))
