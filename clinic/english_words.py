"""English word forms, for telling a typo from a real word (no Rasa imports)."""

import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet


@lru_cache(maxsize=1)
def spacy_english_words() -> FrozenSet[str]:
    """English word forms from spaCy's lookup tables (spacy-lookups-data, no download)."""
    import spacy_lookups_data

    table = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(table, "rt", encoding="utf-8") as handle:
        lookup = json.load(handle)
    return frozenset(word.lower() for pair in lookup.items() for word in pair)
