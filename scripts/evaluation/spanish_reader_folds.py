"""How the learned reader of Spanish urgency (clinic/urgency_classifier.py) was chosen: each
blind set of knowledge/urgent_examples_es.yml left out in turn, read by a reader trained on
the others, alone and beside the phrase list as the Rasa server reads Spanish
(nlu_components/urgent_symptoms.py `urgent_in`, given the fold's reader). Each set was written by a
different helper, so a fold measures wordings its reader never saw. The phrase list was
tuned on these sets, so its own figures here are not held out; the reader's alone are.

    .venv/bin/python -m scripts.evaluation.spanish_reader_folds [--thresholds 0.4,0.5]
"""

import argparse
from typing import List, Sequence, Tuple

from clinic.constants import SPANISH
from clinic.urgency_classifier import (
    EXAMPLE_FILES,
    REGULARISATION_C,
    THRESHOLD,
    UrgencyClassifier,
    UrgentExamples,
    load_examples,
)
from nlu_components.urgent_symptoms import urgent_in

# The blind sets, in the order they arrived: (urgent, not urgent) messages in each. The 6th
# set's not-urgent list lost one question the 2nd already had. Messages a clinic adds after
# them form one more fold.
BLIND_SETS = ((45, 45), (50, 50), (60, 60), (60, 60), (60, 60), (60, 59))

Fold = Tuple[Tuple[str, ...], Tuple[str, ...]]


def folds(examples: UrgentExamples) -> List[Fold]:
    found: List[Fold] = []
    start_u = start_n = 0
    for size_u, size_n in BLIND_SETS:
        found.append(
            (
                examples.urgent[start_u : start_u + size_u],
                examples.not_urgent[start_n : start_n + size_n],
            )
        )
        start_u, start_n = start_u + size_u, start_n + size_n
    if examples.urgent[start_u:] or examples.not_urgent[start_n:]:
        found.append((examples.urgent[start_u:], examples.not_urgent[start_n:]))
    return found


def without(all_folds: Sequence[Fold], left_out: int) -> UrgentExamples:
    kept = [fold for index, fold in enumerate(all_folds) if index != left_out]
    return UrgentExamples(
        tuple(t for urgent, _ in kept for t in urgent),
        tuple(t for _, calm in kept for t in calm),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--thresholds", default=f"{THRESHOLD},0.5")
    args = parser.parse_args()
    all_folds = folds(load_examples(EXAMPLE_FILES[SPANISH]))
    for threshold in (float(t) for t in args.thresholds.split(",")):
        totals = {"reader": [0, 0], "served": [0, 0]}
        print(f"threshold {threshold}, C={REGULARISATION_C}")
        for index, (urgent, calm) in enumerate(all_folds):
            reader = UrgencyClassifier(without(all_folds, index), threshold=threshold)

            def served(text: str) -> bool:
                return urgent_in(text, SPANISH, reader=reader) == SPANISH

            line = [f"  set {index + 1} left out ({len(urgent)} + {len(calm)}):"]
            for name, reads in (("reader", reader.is_urgent), ("served", served)):
                missed = sum(not reads(t) for t in urgent)
                alarms = sum(reads(t) for t in calm)
                totals[name][0] += missed
                totals[name][1] += alarms
                line.append(f"{name} missed {missed}, false alarms {alarms};")
            print(" ".join(line))
        count_u = sum(len(u) for u, _ in all_folds)
        count_n = sum(len(n) for _, n in all_folds)
        for name, (missed, alarms) in totals.items():
            print(f"  {name}: missed {missed}/{count_u}, false alarms {alarms}/{count_n}")


if __name__ == "__main__":
    main()
