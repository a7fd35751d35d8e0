"""The domain gate (nlu_components/domain_gate.py): what it compares a message with, and
that the pretrained encoder tells a patient's question from a bank customer's."""

import numpy as np

from nlu_components.domain_gate import (
    PROJECT_ROOT,
    in_domain,
    is_in_domain_example,
    nearest_similarity,
    unrelated_lines,
)
from nlu_components.sentence_encoder import encoder


def unit(rows: list) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float32)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


def test_the_nearest_example_decides() -> None:
    examples = unit([[1, 0, 0], [0, 1, 0]])
    similarity = nearest_similarity(unit([[1, 0, 0], [0, 0, 1], [1, 1, 0]]), examples)
    assert np.allclose(similarity, [1.0, 0.0, np.sqrt(0.5)], atol=1e-6)
    # Not trained: everything passes.
    assert nearest_similarity(unit([[0, 0, 1]]), np.zeros((0, 3), np.float32)).tolist() == [1.0]


def test_questions_about_microneedling_the_article_does_not_answer_are_in_domain() -> None:
    assert is_in_domain_example("ask_pain", "does it hurt", "out_of_scope")
    assert is_in_domain_example("out_of_scope", "how much does microneedling cost", "out_of_scope")
    assert not is_in_domain_example("out_of_scope", "play some jazz", "out_of_scope")


def test_the_encoder_runs_offline_from_its_package_and_separates_the_domains() -> None:
    model = encoder(1)
    patient, paraphrase, bank = (
        np.asarray(model.encode([text]), dtype=np.float32)[0]
        for text in (
            "does microneedling hurt?",
            "is the needling treatment painful",
            "my card has not arrived",
        )
    )
    cosine = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    assert cosine(patient, paraphrase) > cosine(patient, bank) + 0.2


def test_a_message_more_like_an_unrelated_request_than_any_patient_example_is_out() -> None:
    assert in_domain(0.7, 0.5, min_similarity=0.45, max_closer_unrelated=0.05)
    assert in_domain(0.7, 0.74, min_similarity=0.45, max_closer_unrelated=0.05)
    assert not in_domain(0.7, 0.8, min_similarity=0.45, max_closer_unrelated=0.05)
    assert not in_domain(0.4, 0.0, min_similarity=0.45, max_closer_unrelated=0.05)


def test_the_unrelated_requests_are_a_train_split_never_the_evaluation() -> None:
    import csv

    lines = unrelated_lines("knowledge/out_of_domain/banking77_train_sample.txt")
    with (PROJECT_ROOT / "tests" / "data" / "corpora" / "banking77_test.csv").open(
        encoding="utf-8"
    ) as handle:
        evaluation = {row["text"].strip().lower() for row in csv.DictReader(handle)}
    assert len(lines) >= 900 and not any(line.startswith("#") for line in lines)
    assert [line for line in lines if line.lower() in evaluation] == []
