"""Mask what identifies a person in a patient's message: emails, web addresses, phone
numbers, names.

Pure text rules, no Rasa imports. Masking errs towards hiding too much (a date written
as digits counts as a phone number), because the report is read by people who must not
learn who asked. What it cannot catch is listed in docs/clinic_guide.md ("A report for the clinic").

Every pattern takes time in proportion to the text's length, whatever the text: a pattern
may start only where a run of its characters starts (a lookbehind says so), no two
quantifiers side by side can take the same characters (two runs of spaces), and what may
repeat inside a run is bounded.
Without that, 20,000 letters took seconds and a few thousand "x-at-" minutes.
"""

import re
from typing import List

EMAIL = "[email]"
LINK = "[link]"
PHONE = "[phone]"
NAME = "[name]"

# user@host.tld: found from each "@" (see _mask_emails), so a long run without one costs once.
_EMAIL_LOCAL_PUNCTUATION = frozenset(".+'-_")
_EMAIL_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_TLDS = "com|net|org|edu|gov|co|uk|us|ca|au|de|fr|io|me|info"
# The spelled-out "jane at gmail dot com" people type to dodge filters. A host name is at
# most 63 characters (DNS), which also bounds the retries in a run like "x-at-x-at-...".
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.+-])(?P<lead>[.+-]*)\b[\w.+-]+\s*(?:@|\(at\)|\[at\]|\bat\b)\s*[\w-]{1,63}\s*"
    rf"(?:\.|\(dot\)|\[dot\]|\bdot\b)\s*(?:{_TLDS})\b(?:\s*(?:\.|\bdot\b)\s*[a-z]{{2,3}}\b)?",
    re.IGNORECASE,
)
# Web addresses: with a scheme or "www.", or a host with a path or query
# ("instagram.com/jane", "site.co.uk?ref=jane"); masked before spelled emails, which would
# take "photos at instagram.com" for one. A bare host under a common top-level domain
# ("janesblog.com") after them, so "jane at gmail.com" stays one email.
_URL_END = r"[^\s.,!?;:)'\"]"
_URL = re.compile(
    rf"(?<![\w.@/-])(?:(?:https?|ftp)://|www\.)\S*{_URL_END}"
    rf"|(?<![\w.@/-])(?:[\w-]+\.)+[a-z]{{2,63}}[/?#](?:\S*{_URL_END})?",
    re.IGNORECASE,
)
_BARE_HOST = re.compile(rf"(?<![\w.@/-])(?:[\w-]+\.)+(?:{_TLDS})\b", re.IGNORECASE)
# A run of digits and the separators phone numbers are written with; 7 digits or more
# (short enough for local numbers, long enough to leave "3 to 4 weeks" alone).
_PHONE_RUN = re.compile(r"(?:\+|\b00)?(?:\(\d{1,5}\)\s*)?\d(?:[\d\s.\-/]|\(\d{1,5}\))*\d")
_MIN_PHONE_DIGITS = 7
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,}")

# Words that follow a name cue but are not names ("I'm not sure", "this is a question").
_NOT_NAMES = frozenset(
    """
a an the and or but so if not no yes very really just also too still only quite
i im me my you your he she it its we they this that these those there here
is am are was were be been being have has had do does did can could will would
should shall may might must get got going gonna wanna trying looking asking wondering
sure unsure worried scared nervous concerned curious interested afraid new glad happy
sorry thinking considering planning hoping on in at of for from with about to by after
before over under again much lot lots more bye goodbye ok okay fine well good great
thanks thank cheers please microneedling treatment skin back later today tomorrow""".split()
)

_NAME_WORD = r"[A-Za-z][A-Za-z'\-]*"
# After these the next one to three words are a name, capitalised or not.
_STRONG_CUE = re.compile(
    r"\b(?:my\s+name\s+is|my\s+names|my\s+name's|name\s*:|first\s+name\s+is|last\s+name\s+is|"
    r"surname\s+is|i\s+go\s+by|you\s+can\s+call\s+me)\s+",
    re.IGNORECASE,
)
# After these only capitalised words are taken as a name ("I'm Jane", not "I'm worried").
_WEAK_CUE = re.compile(
    r"\b(?:i'm|i’m|im|i\s+am|this\s+is|it's|it’s|it\s+is|dr|mr|mrs|ms|miss)\.?\s+", re.IGNORECASE
)
# A sign-off, or a dash opening a signature, then a name at the very end of the message
# ("thanks, Jane", "regards - jane d", "does it hurt? -Jane"); searched for only in the
# message's last _SIGN_OFF_CHARS characters, as the name must end the message.
_SIGN_OFF = re.compile(
    r"(?:\b(?:thanks|thank\s+you|thx|regards|best\s+regards|kind\s+regards|best\s+wishes|cheers|"
    r"sincerely|love|xoxo|xx)(?:\s*[,\-–—:!.]+)?\s+|(?:^|\s)[-–—~]\s*)"
    rf"(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})$",
    re.IGNORECASE,
)
_SIGN_OFF_CHARS = 200
_NEXT_WORD = re.compile(rf"\s*({_NAME_WORD})")


def mask(text: str) -> str:
    """The text with emails, web addresses, phone numbers and names replaced by [email],
    [link], [phone], [name]."""
    text = _mask_emails(text)
    text = _URL.sub(LINK, text)
    text = _SPELLED_EMAIL.sub(lambda match: match.group("lead") + EMAIL, text)
    text = _BARE_HOST.sub(LINK, text)
    text = _HANDLE.sub(NAME, text)
    text = _PHONE_RUN.sub(_phone_or_keep, text)
    text = _mask_after_cue(text, _STRONG_CUE, capitalised_only=False)
    text = _mask_after_cue(text, _WEAK_CUE, capitalised_only=True)
    return _mask_signature(text)


def _mask_emails(text: str) -> str:
    """Replace each user@host.tld, the user part read back from its "@"."""
    out: List[str] = []
    position = 0
    at = text.find("@")
    while at != -1:
        start = at
        while start > position and (
            text[start - 1].isalnum() or text[start - 1] in _EMAIL_LOCAL_PUNCTUATION
        ):
            start -= 1
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if start < at and domain:
            out += [text[position:start], EMAIL]
            position = domain.end()
        at = text.find("@", max(at + 1, position))
    out.append(text[position:])
    return "".join(out)


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
            out.append(text[position : match.end()])
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
    """Replace the name after a sign-off at the end; the first cue whose words can be a name."""
    end = len(text.rstrip().rstrip(".!").rstrip())
    position = max(0, end - _SIGN_OFF_CHARS)
    while (match := _SIGN_OFF.search(text, position, end)) is not None:
        if not any(word.lower() in _NOT_NAMES for word in match.group("name").split()):
            return text[: match.start("name")] + NAME + text[match.end("name") :]
        position = match.start() + 1
    return text
