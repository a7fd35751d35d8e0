"""The sentence-encoder featurizer (nlu_components/sentence_encoder.py): its weights come with
its package, it needs no network, and it gives DIET one 512-dimensional sentence vector."""

import socket
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components import sentence_encoder
from nlu_components.sentence_encoder import DIMENSIONS, SentenceEncoderFeaturizer


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    config = {**SentenceEncoderFeaturizer.get_default_config()}
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    return SentenceEncoderFeaturizer.create(
        config, storage, Resource("encoder"), ExecutionContext(None, node_name="encoder")
    )


def test_loads_and_encodes_with_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the encoder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    sentence_encoder.encoder.cache_clear()  # load it again, here, with the network cut
    vector = sentence_encoder.encoder(1).encode(["does microneedling hurt"])
    assert vector.shape == (1, DIMENSIONS)


def test_adds_one_sentence_vector_and_no_sequence_features(featurizer: Any) -> None:
    message = Message(data={TEXT: "how painful is it"})
    featurizer.process([message])
    sentence = [f for f in message.features if f.type == FEATURE_TYPE_SENTENCE]
    assert len(sentence) == 1 and sentence[0].features.shape == (1, DIMENSIONS)
    assert sentence[0].attribute == TEXT
    assert not [f for f in message.features if f.type == FEATURE_TYPE_SEQUENCE]
    assert np.isclose(np.linalg.norm(sentence[0].features), 1.0, atol=1e-3)


def test_training_data_in_batches_matches_one_at_a_time(featurizer: Any) -> None:
    texts = [f"question number {i} about the needles" for i in range(70)]  # more than a batch
    data = TrainingData([Message(data={TEXT: text}) for text in texts])
    featurizer.process_training_data(data)
    single = Message(data={TEXT: texts[-1]})
    featurizer.process([single])
    batched = data.training_examples[-1].features[0].features
    assert np.allclose(batched, single.features[0].features, atol=1e-5)


def test_a_paraphrase_is_closer_than_another_topic(featurizer: Any) -> None:
    pain, paraphrase, other = featurizer.encode(
        ["does microneedling hurt", "how painful is the treatment", "who won the world cup"]
    )
    assert pain @ paraphrase > pain @ other + 0.2
