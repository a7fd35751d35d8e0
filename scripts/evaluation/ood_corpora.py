"""Build the out-of-domain files from the public corpora they come from (run once; outputs committed).

- tests/data/corpora/banking77_test.csv: Banking77's whole test split (text, category), the
  evaluation set of scripts/evaluation/eval_out_of_domain.py; never trained on.
- data/nlu/out_of_scope_snips.yml: a sample of SNIPS's train split (weather, music,
  restaurants, books, films, playlists) as `out_of_scope` training examples.

Both repositories are read with git from local clones (e.g. the search tool's `fetch`):

    .venv/bin/python -m scripts.evaluation.ood_corpora \\
        --banking77 <git dir of PolyAI-LDN/task-specific-datasets> \\
        --snips <git dir of sonos/nlu-benchmark>

CLINC150 and HWU64 are never used here: not for training, tuning or evaluation.
"""

import argparse
import csv
import io
import json
import random
import re
import subprocess
from pathlib import Path
from typing import Iterable, List, Sequence, Set

from scripts.evaluation.nlu_evaluation import load_examples

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BANKING77_OUT = PROJECT_ROOT / "tests" / "data" / "corpora" / "banking77_test.csv"
SNIPS_OUT = PROJECT_ROOT / "data" / "nlu" / "out_of_scope_snips.yml"
BANKING77_TEST = "banking_data/test.csv"
SNIPS_DIR = "2017-06-custom-intent-engines"
SNIPS_INTENTS = (
    "AddToPlaylist",
    "BookRestaurant",
    "GetWeather",
    "PlayMusic",
    "RateBook",
    "SearchCreativeWork",
    "SearchScreeningEvent",
)
PER_INTENT = 15
SEED = 11

# A training line must not be something a patient of the clinic could mean: nothing about
# the body, health, the skin or the treatment, and nothing an intent of ours keys on (the
# sun and the beach are ask_sun's, appointments booking's, "a person" request_human's).
PATIENT_WORDS = re.compile(
    r"\b("
    + "|".join(
        (
            # health, the treatment and its aftercare
            r"health\w*|medic\w*|doctor\w*|dr|nurse\w*|hospital\w*|clinic\w*|surg\w*|therap\w*|treat\w*",
            r"cure\w*|heal\w*|recover\w*|drug\w*|pill\w*|sick\w*|ill|illness|cancer|fever\w*|infect\w*",
            r"pain\w*|hurt\w*|ache\w*|sore\w*|blood\w*|bleed\w*|wound\w*|burn\w*|swell\w*|rash\w*|itch\w*",
            r"pus|redness|allerg\w*|breath\w*|emergenc\w*|urgent|death|dead|die\w*|kill\w*",
            r"pregnan\w*|baby|babies|birth|skin\w*|acne|pimple\w*|scar\w*|wrinkl\w*|collagen|needle\w*",
            r"beauty|derma\w*|botox|laser\w*|peel\w*|spa|mask\w*|makeup|cream\w*|lotion\w*",
            # the body
            r"body|bodies|face|faces|facial|head|hair|forehead|eyes?|ears?|nose|lips?|cheeks?|chin|neck",
            r"tooth|teeth|brain|heart\w*|chest|belly|stomach|back|arms?|hands?|fingers?|legs?|foot|feet",
            r"toes?|bones?",
            # what other intents of ours key on
            r"sun|sunny|sunshine|sunburn\w*|sunset|sunrise|beach\w*|tan|tanning|uv",
            r"appointment\w*|consult\w*|session\w*|human|person|bot|robot",
        )
    )
    + r")\b",
    re.IGNORECASE,
)
# A restaurant booking must say it is one, so "book me for 4" is never taught as out of scope.
RESTAURANT_WORDS = re.compile(
    r"\b(restaurant\w*|table|pub|bar|cafe|caf\w+|diner|bistro|brasserie|tavern|eatery|food|"
    r"coffee\w*|pizz\w*|sushi|steakhouse|dinner|lunch|breakfast|brunch)\b",
    re.IGNORECASE,
)


def git_show(git_dir: Path, path: str, encoding: str = "utf-8") -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"HEAD:{path}"], check=True, capture_output=True
    ).stdout.decode(encoding)


def git_commit(git_dir: Path) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def write_banking77(git_dir: Path, out: Path = BANKING77_OUT) -> int:
    """Copy the test split as it is (text, category); return the number of queries."""
    rows = list(csv.DictReader(io.StringIO(git_show(git_dir, BANKING77_TEST))))
    assert rows and set(rows[0]) == {"text", "category"}, "unexpected Banking77 columns"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "category"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({"text": r["text"].strip(), "category": r["category"]} for r in rows)
    return len(rows)


def snips_texts(git_dir: Path, intent: str) -> List[str]:
    """The queries of one intent's train split (train_<intent>_full.json), as typed."""
    # Some files mix Latin-1 and UTF-8 bytes; only ASCII lines are kept, so Latin-1 (which
    # reads any byte) loses nothing that is used.
    data = json.loads(
        git_show(git_dir, f"{SNIPS_DIR}/{intent}/train_{intent}_full.json", "latin-1")
    )
    return [
        re.sub(r"\s+", " ", "".join(part["text"] for part in query["data"])).strip()
        for query in data[intent]
    ]


def usable(text: str, intent: str, taken: Set[str]) -> bool:
    """English (ASCII) everyday requests no patient could mean, not already in the data."""
    if not text or not text.isascii() or text.lower() in taken or PATIENT_WORDS.search(text):
        return False
    # Brackets and braces would read as Rasa's entity annotations.
    if re.search(r"[\[\]{}()]", text):
        return False
    return intent != "BookRestaurant" or bool(RESTAURANT_WORDS.search(text))


def existing_examples() -> Set[str]:
    """Every training and held-out line already in the project, lower-cased."""
    files = [
        *(PROJECT_ROOT / "data" / "nlu").glob("*.yml"),
        PROJECT_ROOT / "tests" / "data" / "nlu_heldout.yml",
    ]
    return {text.lower() for path in files if path != SNIPS_OUT for text, _ in load_examples(path)}


def sample_snips(git_dir: Path) -> List[str]:
    taken = existing_examples()
    rng = random.Random(SEED)
    chosen: List[str] = []
    for intent in SNIPS_INTENTS:
        candidates = [
            t for t in dict.fromkeys(snips_texts(git_dir, intent)) if usable(t, intent, taken)
        ]
        picked = rng.sample(candidates, PER_INTENT)
        taken.update(t.lower() for t in picked)
        chosen.extend(picked)
    return chosen


def nlu_yaml(examples: Sequence[str], header: Iterable[str]) -> str:
    lines = [
        *(f"# {line}".rstrip() for line in header),
        'version: "3.1"',
        "nlu:",
        "- intent: out_of_scope",
        "  examples: |",
    ]
    # Quoting is not needed inside a block scalar; a leading "- " is the list marker.
    lines += [f"    - {text}" for text in examples]
    return "\n".join(lines) + "\n"


def write_snips(git_dir: Path, out: Path = SNIPS_OUT) -> int:
    examples = sample_snips(git_dir)
    header = [
        "Everyday requests to voice assistants, unrelated to the clinic: out_of_scope.",
        "Source: the SNIPS NLU benchmark, https://github.com/sonos/nlu-benchmark",
        f"(commit {git_commit(git_dir)[:12]}), licence CC0 1.0 Universal (its LICENSE file).",
        f"TRAIN split only: {SNIPS_DIR}/<intent>/train_<intent>_full.json,",
        f"{PER_INTENT} lines per intent ({', '.join(SNIPS_INTENTS[:4])},",
        f"{', '.join(SNIPS_INTENTS[4:])}), sampled with seed {SEED} by",
        "scripts/evaluation/ood_corpora.py, which drops lines about the body, health, the skin, the sun,",
        "appointments or a person (anything a patient could mean) and non-ASCII lines.",
        "The out-of-domain evaluation set is another corpus (Banking77, tests/data/corpora/).",
        "",
    ]
    out.write_text(nlu_yaml(examples, header), encoding="utf-8")
    return len(examples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--banking77", type=Path, required=True, help="git dir of PolyAI-LDN/task-specific-datasets"
    )
    parser.add_argument("--snips", type=Path, required=True, help="git dir of sonos/nlu-benchmark")
    args = parser.parse_args()
    print(f"{BANKING77_OUT.relative_to(PROJECT_ROOT)}: {write_banking77(args.banking77)} queries")
    print(f"{SNIPS_OUT.relative_to(PROJECT_ROOT)}: {write_snips(args.snips)} examples")


if __name__ == "__main__":
    main()
