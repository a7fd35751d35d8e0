"""Urgent symptoms: the rule-based red-flag matcher that runs on every message.

Pure logic over knowledge/red_flags.yml with the same spaCy + medspaCy pipeline as the
contraindication check, so "no fever but it's oozing" is urgent and "my sister had an
infection" or "what if it bleeds?" are not. Another language's phrases (Spanish:
knowledge/red_flags_es.yml) are read by the same matcher, with that file's own negation
and context cues. No Rasa imports.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from clinic.constants import ENGLISH, SPANISH
from clinic.data_files import problems_message, read_yaml
from clinic.extraction import (
    CURRENT,
    PAST,
    UNSURE,
    Extractor,
    Mention,
    fold_accents,
    parse_lay_context,
)

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
RED_FLAGS_PATH = KNOWLEDGE / "red_flags.yml"
# The red-flag files by the language's name as the input guard reports it (lingua's).
RED_FLAG_FILES = {ENGLISH: RED_FLAGS_PATH, SPANISH: KNOWLEDGE / "red_flags_es.yml"}
# Favour recall: a symptom the patient had, or is unsure about, still gets the urgent reply.
URGENT_STATUSES = (CURRENT, PAST, UNSURE)


class RedFlagsError(ValueError):
    """The red-flags file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class RedFlags:
    phrases: Dict[str, Tuple[str, ...]]
    not_red_flags: Tuple[str, ...]
    # Say it is serious without saying what ("it's urgent"): urgent only in a message
    # about the clinic at all, not in a bank customer's "it's urgent, my card was stolen".
    need_context: Tuple[str, ...] = ()
    # Say a problem is over ("all gone now"): the trained intent alone is not trusted then.
    resolved: Tuple[str, ...] = ()
    # spaCy's code of the phrases' language; for another than English, its own context
    # cues (negation and the rest) as [phrase, category, direction] entries.
    language: str = "en"
    lay_context: Tuple[Tuple[str, str, str], ...] = ()


def parse_red_flags(raw: object, source: str = "red flags") -> RedFlags:
    """Validate the parsed YAML, or raise listing every problem."""
    problems: List[str] = []
    groups = raw.get("red_flags") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(groups, dict) or not groups:
        raise RedFlagsError(f"{source}: expected a 'red_flags:' section of named phrase lists.")
    phrases = {}
    for name, items in groups.items():
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(item, (str, int)) and str(item).strip() for item in items)
        ):
            problems.append(f"red_flags.{name}: must be a non-empty list of phrases")
            continue
        phrases[str(name)] = tuple(str(item).strip() for item in items)
    exceptions = raw.get("not_red_flags") or []
    if not isinstance(exceptions, list) or not all(isinstance(item, str) for item in exceptions):
        problems.append("not_red_flags: must be a list of phrases")
        exceptions = []
    need_context = raw.get("need_context") or []
    known = {phrase.lower() for items in phrases.values() for phrase in items}
    if not isinstance(need_context, list) or not all(
        isinstance(item, str) for item in need_context
    ):
        problems.append("need_context: must be a list of phrases")
        need_context = []
    for phrase in need_context:
        if phrase.lower() not in known:
            problems.append(f"need_context: {phrase!r} is not a phrase of red_flags")
    resolved = raw.get("resolved") or []
    if not isinstance(resolved, list) or not all(
        isinstance(item, str) and item.strip() for item in resolved
    ):
        problems.append("resolved: must be a list of phrases")
        resolved = []
    language = raw.get("language", "en")
    lay_context: Tuple[Tuple[str, str, str], ...] = ()
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
        problems.append("language: must be a two-letter language code, e.g. es")
    elif language != "en":
        try:
            lay_context = parse_lay_context(raw, source)
        except ValueError as error:
            problems.append(
                f"lay_context: a file in another language than English needs its own "
                f"negation and context cues ({error})"
            )
    if problems:
        raise RedFlagsError(problems_message(source, problems))
    return RedFlags(
        phrases,
        tuple(exceptions),
        tuple(p.lower() for p in need_context),
        tuple(p.strip().lower() for p in resolved),
        language,
        lay_context,
    )


def load_red_flags(path: Path = RED_FLAGS_PATH) -> RedFlags:
    return parse_red_flags(read_yaml(path, RedFlagsError), source=str(path))


class RedFlagMatcher:
    """Finds the patient's own red flags in a message."""

    def __init__(self, red_flags: RedFlags) -> None:
        self.extractor = Extractor(
            red_flags.phrases,
            red_flags.not_red_flags,
            language=red_flags.language,
            lay_context=red_flags.lay_context,
        )
        self.fold = fold_accents if red_flags.language != "en" else str
        self.need_context = frozenset(self.fold(p) for p in red_flags.need_context)
        self.resolved = [
            re.compile(rf"(?<![\w']){re.escape(self.fold(phrase))}(?![\w'])")
            for phrase in red_flags.resolved
        ]

    def red_flags(self, text: str, mentions: Optional[List[Mention]] = None) -> List[Mention]:
        """The patient's own red flags; negated, someone else's, what-ifs and what is long
        over ("a reaction to hair dye years ago") are left out. `mentions`: the extractor's,
        when the caller has them already."""
        return [
            m
            for m in (self.extractor.mentions(text) if mentions is None else mentions)
            if m.status in URGENT_STATUSES and not (m.status == PAST and m.long_ago)
        ]

    def rules_out(self, text: str) -> bool:
        """No red flag, and the message either names one the matcher read as not urgent
        ("no fever") or says the problem is over ("it stopped bleeding straight away")."""
        mentions = self.extractor.mentions(text)  # one parse for both questions
        if self.red_flags(text, mentions):
            return False
        lowered = self.fold(text.lower().replace("’", "'"))
        return bool(mentions) or any(p.search(lowered) for p in self.resolved)

    def is_urgent(self, text: str, about_the_clinic: bool = True) -> bool:
        """`about_the_clinic`: the message is like what patients ask (nlu_components/
        domain_gate.py); when it is not, "urgent" alone is not a red flag."""
        return bool(self.urgent_flags(text, about_the_clinic))

    def urgent_flags(self, text: str, about_the_clinic: bool = True) -> List[Mention]:
        """The red flags that make the message urgent (see is_urgent)."""
        flags = self.red_flags(text)
        if not about_the_clinic:
            flags = [m for m in flags if m.text.lower() not in self.need_context]
        return flags


@lru_cache(maxsize=None)
def default_matcher(language: str = ENGLISH) -> RedFlagMatcher:
    """The matcher of a language's red-flag file (RED_FLAG_FILES)."""
    return RedFlagMatcher(load_red_flags(RED_FLAG_FILES[language]))
