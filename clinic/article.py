"""The clinic's article and the check that a sentence is quoted from it."""

import re
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, List

ARTICLE_PATH = Path(__file__).resolve().parent.parent / "knowledge" / "microneedling_article.txt"

# The light edits a quotation may make: the article's typo fixed, and a sentence-initial
# connective or an "also" dropped when a sentence stands on its own.
TYPO_FIXES = {"tiny needs": "tiny needles"}
DROPPABLE_OPENERS = ("however, ", "for example, ")


def normalise(sentence: str) -> str:
    """The comparable form of a sentence: lower case, typos fixed, light edits undone."""
    text = sentence.lower().replace("\u2019", "'")
    for typo, fix in TYPO_FIXES.items():
        text = text.replace(typo, fix)
    text = re.sub(r"\s+", " ", text).strip().rstrip(".!?")
    for opener in DROPPABLE_OPENERS:
        if text.startswith(opener):
            text = text[len(opener) :]
    return re.sub(r"\balso\b ", "", text)


def sentences(text: str) -> List[str]:
    """Split text into sentences at ., ! or ? followed by white space."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


@lru_cache(maxsize=4)
def article_sentences(path: Path = ARTICLE_PATH) -> FrozenSet[str]:
    return frozenset(normalise(s) for s in sentences(path.read_text(encoding="utf-8")))


def ungrounded_sentences(text: str, path: Path = ARTICLE_PATH) -> List[str]:
    """The sentences of `text` that are not quoted from the article."""
    known = article_sentences(path)
    return [s for s in sentences(text) if normalise(s) not in known]
