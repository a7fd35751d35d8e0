"""Mask what identifies a person in a patient's message: emails, phone numbers, names.

Pure text rules, no Rasa imports. Masking errs towards hiding too much (a date written
as digits counts as a phone number), because the report is read by people who must not
learn who asked. What it cannot catch is listed in the README ("A report for the clinic").
"""

import re
from typing import List

EMAIL = "[email]"
PHONE = "[phone]"
NAME = "[name]"

# user@host.tld, and the spelled-out "jane at gmail dot com" people type to dodge filters.
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_SPELLED_EMAIL = re.compile(
    r"\b[\w.+-]+\s*(?:@|\(at\)|\[at\]|\bat\b)\s*[\w-]+\s*(?:\.|\(dot\)|\[dot\]|\bdot\b)\s*"
    r"(?:com|net|org|edu|gov|co|uk|us|ca|au|de|fr|io|me|info)\b(?:\s*(?:\.|\bdot\b)\s*[a-z]{2,3}\b)?",
    re.IGNORECASE)
# A run of digits and the separators phone numbers are written with; 7 digits or more
# (short enough for local numbers, long enough to leave "3 to 4 weeks" alone).
_PHONE_RUN = re.compile(r"(?:\+|\b00)?(?:\(\d{1,5}\)\s*)?\d(?:[\d\s.\-/]|\(\d{1,5}\))*\d")
_MIN_PHONE_DIGITS = 7
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,}")

# Words that follow a name cue but are not names ("I'm not sure", "this is a question").
_NOT_NAMES = frozenset("""
a an the and or but so if not no yes very really just also too still only quite
i im me my you your he she it its we they this that these those there here
is am are was were be been being have has had do does did can could will would
should shall may might must get got going gonna wanna trying looking asking wondering
sure unsure worried scared nervous concerned curious interested afraid new glad happy
sorry thinking considering planning hoping on in at of for from with about to by after
before over under again much lot lots more bye goodbye ok okay fine well good great
thanks thank cheers please microneedling treatment skin back later today tomorrow""".split())

_NAME_WORD = r"[A-Za-z][A-Za-z'\-]*"
# After these the next one to three words are a name, capitalised or not.
_STRONG_CUE = re.compile(
    r"\b(?:my\s+name\s+is|my\s+names|my\s+name's|name\s*:|first\s+name\s+is|last\s+name\s+is|"
    r"surname\s+is|i\s+go\s+by|you\s+can\s+call\s+me)\s+", re.IGNORECASE)
# After these only capitalised words are taken as a name ("I'm Jane", not "I'm worried").
_WEAK_CUE = re.compile(r"\b(?:i'm|i’m|im|i\s+am|this\s+is|it's|it’s|it\s+is|dr|mr|mrs|ms|miss)\.?\s+",
                       re.IGNORECASE)
# A sign-off, or a dash opening a signature, then a name at the very end of the message
# ("thanks, Jane", "regards - jane d", "does it hurt? -Jane").
_SIGN_OFF = re.compile(
    r"(?:\b(?:thanks|thank\s+you|thx|regards|best\s+regards|kind\s+regards|best\s+wishes|cheers|"
    r"sincerely|love|xoxo|xx)\s*[,\-–—:!.]*\s+|(?:^|\s)[-–—~]\s*)"
    rf"(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})\s*[.!]*\s*$",
    re.IGNORECASE)
_NEXT_WORD = re.compile(rf"\s*({_NAME_WORD})")


def mask(text: str) -> str:
    """The text with emails, phone numbers and names replaced by [email], [phone], [name]."""
    text = _EMAIL.sub(EMAIL, text)
    text = _SPELLED_EMAIL.sub(EMAIL, text)
    text = _HANDLE.sub(NAME, text)
    text = _PHONE_RUN.sub(_phone_or_keep, text)
    text = _mask_after_cue(text, _STRONG_CUE, capitalised_only=False)
    text = _mask_after_cue(text, _WEAK_CUE, capitalised_only=True)
    return _mask_signature(text)


def _phone_or_keep(match: "re.Match[str]") -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    return PHONE if digits >= _MIN_PHONE_DIGITS else found


def _mask_after_cue(text: str, cue: "re.Pattern[str]", capitalised_only: bool) -> str:
    """Replace the name words right after each cue with one [name]."""
    out: List[str] = []
    position = 0
    for match in cue.finditer(text):
        if match.start() < position:
            continue
        end = _name_end(text, match.end(), capitalised_only)
        if end > match.end():
            out.append(text[position:match.end()])
            out.append(NAME)
            position = end
    out.append(text[position:])
    return "".join(out)


def _name_end(text: str, start: int, capitalised_only: bool, most: int = 3) -> int:
    """Where the name starting at `start` ends (== start when there is none)."""
    end = start
    for count in range(most):
        word = _NEXT_WORD.match(text, end)
        if not word:
            break
        token = word.group(1)
        if token.lower() in _NOT_NAMES or (capitalised_only and not token[0].isupper()):
            break
        end = word.end()
    return end


def _mask_signature(text: str) -> str:
    for match in _SIGN_OFF.finditer(text):
        if not any(word.lower() in _NOT_NAMES for word in match.group("name").split()):
            return text[:match.start("name")] + NAME + text[match.end("name"):]
    return text
