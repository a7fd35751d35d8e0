"""Pure checks on what a patient typed, before the NLU pipeline reads it (no Rasa imports).

Every channel ends in the same pipeline, so these checks hold for the widget, SMS and the
messaging apps alike: control characters are dropped, a very long message is read on a
bounded prefix, and a message in another language is recognised so the assistant can say
it understands English only instead of guessing at an answer. A message that reads as a
typed command ("/...") is told apart before any parser sees it.
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, List, Optional

from clinic.english_words import spacy_english_words

# What the NLU reads of one message. The longest question in the training data is under
# 300 characters; a longer message is read up to here and the patient is told so.
MAX_READ_CHARS = 1000
# The intent classifier, trained on short messages, reads a long message's first sentence
# only: on the whole prefix it changed the intent of 442 of 478 labelled screening answers
# padded with talk about the patient's day (mostly to nlu_fallback, some to urgent_symptom).
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n")

# Latin-script languages the language model tells apart from English. Other scripts
# (Chinese, Arabic, Cyrillic, ...) are recognised by their letters alone.
OTHER_LANGUAGES = (
    "SPANISH",
    "FRENCH",
    "GERMAN",
    "PORTUGUESE",
    "ITALIAN",
    "DUTCH",
    "POLISH",
    "TAGALOG",
    "VIETNAMESE",
    "TURKISH",
    "ROMANIAN",
    "INDONESIAN",
    "SWEDISH",
    "CZECH",
)
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
COMMAND_PREFIX = "/"
# Longer than any intent name of ours; a longer "/..." is not a command we follow.
MAX_COMMAND_CHARS = 64
INTENT_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class ReadableText:
    """The part of a message the NLU reads, and what the patient should be told about it."""

    text: str
    truncated: bool
    has_words: bool
    # What the intent classifier reads: the text, or a long message's first sentence.
    classified: str = ""


def clean(text: object) -> str:
    """Text with control characters and unpaired surrogates replaced by spaces."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    try:
        characters = list(text)
    except ValueError:  # a code point beyond Unicode, from a lenient JSON parser
        return ""
    return "".join(" " if blanked(char) else char for char in characters).strip()


def blanked(char: str) -> bool:
    """A control character or unpaired surrogate, which clean() turns into a space."""
    category = unicodedata.category(char)
    return category == "Cs" or (category == "Cc" and char not in "\n\t")


def readable(text: object, limit: int = MAX_READ_CHARS) -> ReadableText:
    """Clean text bounded to `limit` characters, cut at a word boundary when one is near."""
    cleaned = clean(text)
    truncated = len(cleaned) > limit
    if truncated:
        cut = cleaned[:limit]
        space = cut.rfind(" ")
        cleaned = cut[:space] if space > limit * 0.8 else cut
    has_words = any(char.isalnum() for char in cleaned)
    return ReadableText(
        cleaned, truncated, has_words, first_sentence(cleaned) if truncated else cleaned
    )


def first_sentence(text: str) -> str:
    """The first sentence of `text` that has a letter or digit (all of it if none has)."""
    for sentence in SENTENCE_BREAK.split(text):
        if any(char.isalnum() for char in sentence):
            return sentence.strip()
    return text


def words(text: str) -> List[str]:
    return [word.lower() for word in WORD.findall(text)]


def looks_like_a_word(token: str) -> bool:
    """At least a quarter vowels: true of words in the languages above, not of mashing."""
    vowels = sum(unicodedata.normalize("NFD", char)[0] in "aeiouy" for char in token)
    return vowels >= max(1, len(token) / 4)


NON_LATIN = "non-Latin script"
# The language model's confidence from which the reply names the language ("It looks like
# you wrote in French"); below it the message still counts as another language, unnamed.
CONFIDENT = 0.5


@dataclass(frozen=True)
class OtherLanguage:
    name: str  # lingua's name, titled ("Spanish"), or NON_LATIN
    confident: bool


def is_latin(char: str) -> bool:
    return "LATIN" in unicodedata.name(char, "")


class LanguageCheck:
    """Tells a message written in another language from English, leaning towards English.

    A patient writing English must never be told "English only", so a Latin-script message
    counts as another language only when most of its words are unknown English words and
    the language model prefers another language by a clear margin.
    """

    def __init__(self, english_words: Iterable[str]) -> None:
        self.general_english = spacy_english_words()
        self.english = frozenset(w.lower() for w in english_words) | self.general_english
        self._detector = None

    def detector(self):
        if self._detector is None:
            from lingua import Language, LanguageDetectorBuilder

            languages = [Language.ENGLISH, *(getattr(Language, n) for n in OTHER_LANGUAGES)]
            self._detector = LanguageDetectorBuilder.from_languages(*languages).build()
        return self._detector

    def warm_up(self) -> None:
        """Load the language models now (about a second), not on the first message."""
        self.detector().compute_language_confidence_values("hola, qué tal")

    def other_language(self, text: str) -> Optional[str]:
        """The language a message is written in when it is clearly not English, else None."""
        found = self.detect(text)
        return found.name if found else None

    def detect(self, text: str) -> Optional[OtherLanguage]:
        """The other language of a message and whether the language model is confident of it
        (then the reply may name it), or None when the message may be English."""
        tokens = words(text)
        if not tokens:
            return None
        if sum(not all(map(is_latin, token)) for token in tokens) >= 0.5 * len(tokens):
            return OtherLanguage(NON_LATIN, confident=False)
        unknown = [token for token in tokens if token not in self.english]
        if not unknown or len(tokens) < 2:  # one odd word is a typo more often than not
            return None
        # Clinic words ("microneedling") say nothing about the language around them.
        general = " ".join(t for t in tokens if t in unknown or t in self.general_english)
        ranked = self.detector().compute_language_confidence_values(general)
        best = ranked[0]
        english = next((c.value for c in ranked if c.language.name == "ENGLISH"), 0.0)
        if best.language.name == "ENGLISH":
            return None
        # A real sentence usually scores 0.8 or more. Short ones score less, so they count
        # when most words are unknown, all of them look like words (keyboard mashing such
        # as "asdkjh zzxv" doesn't), and the other language leads English clearly.
        mostly_unknown = len(set(unknown)) >= 2 and len(unknown) >= 0.4 * len(tokens)
        confident = best.value >= CONFIDENT
        if confident or (
            mostly_unknown and all(map(looks_like_a_word, unknown)) and best.value >= 2 * english
        ):
            return OtherLanguage(best.language.name.title(), confident)
        return None


def reads_as_command(text: object) -> bool:
    """Whether Rasa's parser would take the message for a typed command: its first
    character after cleaning is "/". Reads only up to that character, so it is cheap on a
    message of any length."""
    if not isinstance(text, str):
        return False
    try:
        for char in text:
            if not (char.isspace() or blanked(char)):
                return char == COMMAND_PREFIX
    except ValueError:  # a code point beyond Unicode, from a lenient JSON parser
        return False
    return False


def command_intent(text: str, intents: Iterable[str]) -> Optional[str]:
    """The intent of a message that is exactly "/intent_name" (spaces around it aside)
    for one of `intents`; None for anything else, e.g. with entities or a confidence."""
    if len(text) > MAX_COMMAND_CHARS:
        return None
    command = text.strip()
    name = command[len(COMMAND_PREFIX) :]
    if command.startswith(COMMAND_PREFIX) and INTENT_NAME.fullmatch(name) and name in intents:
        return name
    return None
