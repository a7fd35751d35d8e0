"""Patients who write in Spanish: what a held-out set of Spanish messages gets over REST.

tests/data/spanish_heldout.yml was written blind (by a helper who saw no project file) and is
never trained on, nor in knowledge/urgent_examples_es.yml: 60 messages that describe a possibly
dangerous reaction and 60 that do not (questions, expected effects, negated and hypothetical
symptoms, chit-chat). Each is the
first message of a new REST conversation on fresh servers; what it got is read from the
tracker store as in eval_out_of_domain.py, with the language the input guard gave it (the
`patient_language` slot, which chooses the Spanish replies).

    .venv/bin/python -m scripts.evaluation.eval_spanish [--model PATH]
"""

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict

import yaml

from clinic.constants import SPANISH
from scripts.bench.handoff_load import fresh_servers
from scripts.evaluation.eval_out_of_domain import URGENT, run_turns
from scripts.ops.settings import DEFAULT_MODEL, PROJECT_ROOT

HELDOUT = PROJECT_ROOT / "tests" / "data" / "spanish_heldout.yml"
RESULT_PATH = PROJECT_ROOT / "var" / "test-results" / "spanish.json"
CATEGORIES = ("urgent", "not_urgent")


def evaluate(servers: Any, heldout: Path = HELDOUT) -> Dict[str, Any]:
    sets = yaml.safe_load(heldout.read_text(encoding="utf-8"))
    queries = [(text, category) for category in CATEGORIES for text in sets[category]]
    turns = run_turns(servers, queries, concurrency=2)
    result: Dict[str, Any] = {"set": str(heldout.relative_to(PROJECT_ROOT))}
    for category in CATEGORIES:
        mine = [t for t in turns if t.category == category]
        urgent = [t for t in mine if t.kind == URGENT]
        spanish = [t for t in mine if t.language == SPANISH]
        missed = [t.text for t in mine if (t.kind == URGENT) != (category == "urgent")]
        result[category] = {
            "messages": len(mine),
            "urgent_reply": len(urgent),
            "read_as_spanish": len(spanish),
            "kinds": dict(Counter(t.kind for t in mine)),
            "wrong": missed,
            "not_read_as_spanish": [t.text for t in mine if t not in spanish],
        }
    return result


def report(result: Dict[str, Any]) -> str:
    urgent, calm = result["urgent"], result["not_urgent"]
    lines = [
        f"{result['set']}",
        f"urgent messages: urgent reply {urgent['urgent_reply']}/{urgent['messages']}, "
        f"read as Spanish {urgent['read_as_spanish']}/{urgent['messages']}",
        f"not urgent: urgent reply {calm['urgent_reply']}/{calm['messages']}, "
        f"read as Spanish {calm['read_as_spanish']}/{calm['messages']}; kinds {calm['kinds']}",
    ]
    for category in CATEGORIES:
        lines += [f"  wrong ({category}): {text}" for text in result[category]["wrong"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, default=RESULT_PATH)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eval-spanish-") as workdir:
        with fresh_servers(Path(workdir), args.model) as servers:
            result = evaluate(servers)
    print(report(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Written to {args.out}")


if __name__ == "__main__":
    main()
