"""The clinic's contact details: loaded from the clinic-editable YAML file and validated.

Besides the free-text `opening_hours` patients read, the clinic gives its opening times by
weekday and its time zone, so the phone line can tell whether a person can take a call
now (`OpeningTimes.is_open`).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clinic.data_files import problems_message, read_yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLINIC_CONFIG_PATH = PROJECT_ROOT / "knowledge" / "clinic_config.yml"

_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,24}$")
_EMERGENCY = re.compile(r"^[0-9]{2,6}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_DAYS = re.compile(r"^[1-9][0-9]{0,3}$")


class ClinicConfigError(ValueError):
    """The clinic config file is missing, unreadable or has wrong values."""


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_RANGE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])\s*-\s*([01][0-9]|2[0-4]):([0-5][0-9])$")


@dataclass(frozen=True)
class OpeningTimes:
    """When the clinic's staff answer the phone: (opens, closes) by weekday in its time zone.
    A weekday that is not listed is closed."""

    time_zone: str
    days: Mapping[str, Tuple[time, time]]

    def is_open(self, at: datetime) -> bool:
        """Whether the clinic is open at `at` (an aware time, in any time zone)."""
        if at.tzinfo is None:
            raise ValueError("is_open needs a time with a time zone")
        local = at.astimezone(ZoneInfo(self.time_zone))
        hours = self.days.get(WEEKDAYS[local.weekday()])
        if hours is None:
            return False
        opens, closes = hours
        now = local.time().replace(tzinfo=None)
        # "24:00" is read as time.max: open until midnight.
        return opens <= now < closes or (closes == time.max and now >= opens)


def parse_opening_times(zone: Any, times: Any, problems: List[str]) -> Optional[OpeningTimes]:
    """The `time_zone` and `opening_times` settings, or None with the problems listed."""
    found = len(problems)
    if not isinstance(zone, str) or not zone.strip():
        problems.append("'time_zone' is missing (the clinic's time zone, e.g. America/New_York)")
    else:
        try:
            ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"'time_zone' {zone!r} is not a known time zone (e.g. Europe/London)")
    if not isinstance(times, dict) or not times:
        problems.append(
            "'opening_times' is missing: the hours of each open weekday, e.g. monday: 09:00-18:00"
        )
        return None
    days: Dict[str, Tuple[time, time]] = {}
    for day, value in times.items():
        match = _TIME_RANGE.match(str(value).strip()) if isinstance(value, str) else None
        if str(day).lower() not in WEEKDAYS:
            problems.append(f"'opening_times' has {day!r}, not a weekday ({', '.join(WEEKDAYS)})")
        elif match is None:
            problems.append(
                f"'opening_times' {day}: {value!r} is not a range such as 09:00-18:00 (quote it)"
            )
        else:
            hour, minute, end_hour, end_minute = (int(group) for group in match.groups())
            opens = time(hour, minute)
            closes = time.max if (end_hour, end_minute) >= (24, 0) else time(end_hour, end_minute)
            if end_hour == 24 and end_minute:
                problems.append(f"'opening_times' {day}: {value!r} ends after midnight")
            elif closes <= opens:
                problems.append(f"'opening_times' {day}: {value!r} closes before it opens")
            else:
                days[str(day).lower()] = (opens, closes)
    if len(problems) > found:
        return None
    return OpeningTimes(str(zone).strip(), days)


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
    # The phone line's structured hours (time_zone and opening_times in the file); not a
    # slot: responses say `opening_hours`. Without them (a config made in code), never open.
    opening_times: OpeningTimes = field(default_factory=lambda: OpeningTimes("UTC", {}))

    def as_slots(self) -> Dict[str, str]:
        """The values as the domain's `clinic_*` slots that responses read."""
        slots = {f"clinic_{key}": getattr(self, key) for key in _CHECKS}
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
_STRUCTURED = ("time_zone", "opening_times")


def parse_clinic_config(raw: Any, source: str = "clinic config") -> ClinicConfig:
    """Validate the parsed YAML and return the config, or raise listing every problem."""
    if not isinstance(raw, dict) or not isinstance(raw.get("clinic"), dict):
        raise ClinicConfigError(f"{source}: expected a top-level 'clinic:' section.")
    section: Dict[str, Any] = raw["clinic"]
    problems: List[str] = []
    checks = {**_CHECKS, **_OPTIONAL}
    for key in sorted(set(section) - set(checks) - set(_STRUCTURED)):
        problems.append(f"unknown key '{key}' (allowed: {', '.join([*checks, *_STRUCTURED])})")
    opening_times = parse_opening_times(
        section.get("time_zone"), section.get("opening_times"), problems
    )
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
    if problems or opening_times is None:
        raise ClinicConfigError(problems_message(source, problems))
    return ClinicConfig(**values, opening_times=opening_times)


def load_clinic_config(path: Path = CLINIC_CONFIG_PATH) -> ClinicConfig:
    """Read and validate the clinic config file."""
    return parse_clinic_config(read_yaml(path, ClinicConfigError), source=str(path))
