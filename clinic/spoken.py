"""Text for the phone line's text-to-speech: numbers as words, short replies.

A speech engine reads "+1 555 010 2040" as "plus one, five hundred fifty-five ...", "911" as
"nine hundred eleven" and a web address letter by letter, and a caller cannot scroll back:
what the phone line says is at most two sentences, with numbers written as the words a
person would say (a phone number digit by digit) and no web addresses.
"""

import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Dict, List, Mapping

from clinic.article import sentences
from clinic.clinic_config import PROJECT_ROOT, WEEKDAYS, ClinicConfig, OpeningTimes
from clinic.data_files import problems_message, read_yaml

VOICE_PATH = PROJECT_ROOT / "knowledge" / "voice.yml"
# The phone line's own phrases knowledge/voice.yml must give.
PHONE_LINE_PHRASES = ("connecting", "reprompt", "goodbye", "opted_out", "closed")
# The consent question before the check (knowledge/contraindications.yml), by voice.
CONSENT_KEY = "screening_consent"

MAX_SENTENCES = 2
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Spanish digits, for the Spanish replies' phone and emergency numbers ("nueve uno uno").
DIGITS_ES = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# The slots whose values are web addresses: the phone line says "our website" instead.
URL_SLOTS = ("clinic_booking_url", "clinic_privacy_url")


def number_words(number: int) -> str:
    """0 to 999 in words, as said aloud: 30 -> "thirty", 125 -> "one hundred twenty-five"."""
    if not 0 <= number <= 999:
        raise ValueError(f"{number} is out of range for number_words")
    if number < 10:
        return DIGITS[number]
    if number < 20:
        return _TEENS[number - 10]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f"-{DIGITS[ones]}" if ones else "")
    hundreds, rest = divmod(number, 100)
    return f"{DIGITS[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")


def digit_by_digit(phone: str, spanish: bool = False) -> str:
    """A phone number as said aloud: "+1 555 010 2040" -> "plus one, five five five, zero one
    zero, two zero four zero" (its groups kept, so a caller can write it down); in Spanish
    "más uno, cinco cinco cinco, ..."."""
    digits, plus = (DIGITS_ES, "más") if spanish else (DIGITS, "plus")
    groups = re.findall(r"\+|[0-9]+", phone)
    said = [plus if group == "+" else " ".join(digits[int(d)] for d in group) for group in groups]
    text = ", ".join(said)
    return text.replace(f"{plus}, ", f"{plus} ")


def dial_number(phone: str) -> str:
    """The number as Twilio's <Dial> takes it: "+1 555 010 2040" -> "+15550102040"."""
    return re.sub(r"[^0-9+]", "", phone)


def _clock(at: time) -> str:
    if at == time.max:
        return "midnight"
    if at == time(12, 0):
        return "midday"
    hour = at.hour % 12 or 12
    said = number_words(hour)
    if at.minute:
        said += " " + ("oh " if at.minute < 10 else "") + number_words(at.minute)
    return said + (
        " in the morning"
        if at.hour < 12
        else " in the afternoon"
        if at.hour < 17
        else " in the evening"
    )


def spoken_hours(times: OpeningTimes) -> str:
    """The opening times as said aloud, runs of days with the same hours joined:
    "Monday to Friday, nine in the morning to six in the evening, and Saturday, ..."."""
    runs: List[List[str]] = []
    for day in WEEKDAYS:
        hours = times.days.get(day)
        if hours is None:
            continue
        if runs and times.days.get(runs[-1][-1]) == hours and _next(runs[-1][-1]) == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    if not runs:
        return "no opening hours are set"
    parts = []
    for run in runs:
        days = run[0].capitalize() + (f" to {run[-1].capitalize()}" if len(run) > 1 else "")
        opens, closes = times.days[run[0]]
        parts.append(f"{days}, {_clock(opens)} to {_clock(closes)}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]


def _next(day: str) -> str:
    return WEEKDAYS[(WEEKDAYS.index(day) + 1) % len(WEEKDAYS)]


def spoken_slots(clinic: ClinicConfig) -> Dict[str, str]:
    """The clinic's `clinic_*` slot values as the phone line says them."""
    slots = dict(clinic.as_slots())
    # Written with digits for the Spanish text replies: never said (left unfilled, it breaks
    # the rules, so a spoken text cannot use it).
    del slots["clinic_opening_hours_es"]
    slots["clinic_phone"] = digit_by_digit(clinic.phone)
    slots["clinic_emergency_number"] = digit_by_digit(clinic.emergency_number)
    slots["clinic_opening_hours"] = spoken_hours(clinic.opening_times)
    slots["clinic_retention_days"] = number_words(int(clinic.retention_days))
    for name in URL_SLOTS:
        slots[name] = "our website"
    return slots


def spoken_slots_es(clinic: ClinicConfig) -> Dict[str, str]:
    """The same for the Spanish replies: numbers as Spanish words, web addresses as "nuestra
    web". The hours are not among them: the phone line says the clinic's hours in English
    (knowledge/voice.yml `phone_line: closed`), and `opening_hours_es` is written with digits."""
    slots = spoken_slots(clinic)
    slots["clinic_phone"] = digit_by_digit(clinic.phone, spanish=True)
    slots["clinic_emergency_number"] = digit_by_digit(clinic.emergency_number, spanish=True)
    del slots["clinic_opening_hours"]
    for name in URL_SLOTS:
        slots[name] = "nuestra web"
    return slots


def said_aloud(text: str, clinic: ClinicConfig) -> str:
    """A reply not written for the phone line (the check's result, built by the action
    server) made fit to hear: the clinic's numbers and hours in words, web addresses as
    "our website", list marks gone. A text written for it comes out unchanged."""
    slots = spoken_slots(clinic)
    said = re.sub(r"^\s*-\s+", "", text, flags=re.MULTILINE)
    said = said.replace(clinic.phone, slots["clinic_phone"])
    said = said.replace(clinic.opening_hours, slots["clinic_opening_hours"])
    said = re.sub(
        rf"(?<![0-9]){re.escape(clinic.emergency_number)}(?![0-9])",
        slots["clinic_emergency_number"],
        said,
    )
    said = re.sub(r"https?://[^\s]*[^\s.,;:!?)\]]", "our website", said)
    return " ".join(said.split())


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with the {slot} placeholders named in `values` filled in, others left for
    Rasa to fill at run time (e.g. {not_said})."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def first_sentences(text: str, max_chars: int = 280) -> str:
    """The first two sentences of `text`, or only the first when two are longer than
    `max_chars` (about 20 seconds of speech)."""
    found = sentences(" ".join(text.split()))
    if not found:
        return ""
    two = " ".join(found[:MAX_SENTENCES])
    return two if len(two) <= max_chars else found[0]


def voice_problems(text: str) -> List[str]:
    """What breaks the phone line's rules in a spoken reply (empty when it is fine)."""
    problems = []
    count = len(sentences(" ".join(text.split())))
    if count > MAX_SENTENCES:
        problems.append(f"{count} sentences (at most {MAX_SENTENCES})")
    if re.search(r"[0-9]", text):
        problems.append("digits (say numbers as words)")
    if re.search(r"https?:|www\.|\w\.(com|org|net)\b", text):
        problems.append("a web address")
    if re.search(r"\{clinic_\w+\}", text):
        problems.append("a clinic detail left unfilled")
    if not text.strip():
        problems.append("nothing to say")
    return problems


class VoiceTextsError(ValueError):
    """knowledge/voice.yml is missing, broken, or a text breaks the phone line's rules."""


@dataclass(frozen=True)
class VoiceTexts:
    """The spoken texts of knowledge/voice.yml, clinic details not yet filled in."""

    responses: Mapping[str, str]
    phone_line: Mapping[str, str]
    # The Spanish variations' spoken texts (`responses_es:`), said in Spanish.
    responses_es: Mapping[str, str] = field(default_factory=dict)


def parse_voice_texts(raw: Any, clinic: ClinicConfig, source: str = "voice texts") -> VoiceTexts:
    """Validate the parsed file: every text a string that, filled in, keeps the rules."""
    if not isinstance(raw, dict):
        raise VoiceTextsError(f"{source}: expected 'responses:' and 'phone_line:' sections.")
    problems: List[str] = []
    english = spoken_slots(clinic)
    slots = {"responses": english, "phone_line": english, "responses_es": spoken_slots_es(clinic)}
    sections: Dict[str, Dict[str, str]] = {}
    for section in ("responses", "phone_line", "responses_es"):
        entries = raw.get(section, {} if section == "responses_es" else None)
        if not isinstance(entries, dict):
            problems.append(f"'{section}:' is missing")
            continue
        sections[section] = {}
        for name, text in entries.items():
            if not isinstance(text, str):
                problems.append(f"{section}.{name}: expected a text")
                continue
            said = " ".join(fill(text, slots[section]).split())
            problems.extend(f"{section}.{name}: {p}" for p in voice_problems(said))
            sections[section][str(name)] = " ".join(text.split())
    missing = [key for key in PHONE_LINE_PHRASES if key not in sections.get("phone_line", {})]
    if "phone_line" in sections and missing:
        problems.append(f"phone_line: missing {', '.join(missing)}")
    if problems:
        raise VoiceTextsError(problems_message(source, problems))
    return VoiceTexts(sections["responses"], sections["phone_line"], sections["responses_es"])


def load_voice_texts(clinic: ClinicConfig, path: Path = VOICE_PATH) -> VoiceTexts:
    """Read and validate knowledge/voice.yml."""
    return parse_voice_texts(read_yaml(path, VoiceTextsError), clinic, source=str(path))
