"""Save a blank English spaCy pipeline with lookup lemmas for Rasa's SpacyNLP.

No pretrained spaCy model can be downloaded here; `spacy.blank("en")` plus the lookup
tables of spacy-lookups-data gives tokens and lemmas, which is all the pipeline uses.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPACY_MODEL_DIR = PROJECT_ROOT / "build" / "spacy_en_lookup"


def build_spacy_model(out_dir: Path = SPACY_MODEL_DIR) -> Path:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.to_disk(out_dir)
    return out_dir


if __name__ == "__main__":
    build_spacy_model()
