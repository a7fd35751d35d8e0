"""Today's pipeline against a candidate, each trained with several DIET seeds (`make eval-nlu`).

A candidate from scripts/evaluation/nlu_candidates/ is put in config.yml's frame: config.yml's
pipeline with only the part between the input guard and the FallbackClassifier replaced
by the candidate's, so every model here is scored as it would be served. Each model is a
whole assistant (NLU and dialogue, as `make train` trains it), trained from scratch with an
empty cache, and its NLU is scored in a fresh process of its own, so that its memory
figure is its own: the held-out set (accuracy, per-intent report, urgent recall and
precision, parse latency), the near-domain questions the article does not answer, and
Banking77's test split (everyday requests that must get no microneedling answer).

Writes docs/nlu_evaluation.md (scripts/evaluation/seed_report.py) and docs/nlu_evaluation.json.
"""

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from scripts.buildtime.build_domain import build_domain
from scripts.evaluation.compare_pipelines import CANDIDATES_DIR
from scripts.evaluation.eval_out_of_domain import ARTICLE_REPLIES, load_corpus
from scripts.evaluation.nlu_evaluation import (
    HONEST_INTENTS,
    SAME_REPLY,
    is_correct,
    load_examples,
    load_near_domain,
)
from scripts.evaluation.seed_report import markdown

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIGS_DIR = OUT_DIR = PROJECT_ROOT / "build" / "seed_study"
DOCS = PROJECT_ROOT / "docs"
REPORT_JSON = DOCS / "nlu_evaluation.json"
REPORT_MD = DOCS / "nlu_evaluation.md"
ENCODER = "whitespace_char_ngrams_sentence_encoder"
DEFAULT_SEEDS = (1, 2, 3)
GUARD = "nlu_components.input_guard.InputGuard"
FALLBACK_CLASSIFIER = "FallbackClassifier"
URGENT = "urgent_symptom"
# An everyday request that gets one of these was answered harmlessly; a topic intent (an
# article answer or the start of the check) is a false answer.
CHIT_CHAT = frozenset({"greet", "goodbye", "thank", "bot_challenge"})
TOPIC_INTENTS = frozenset(
    {"ask_" + reply.removeprefix("utter_") for reply in ARTICLE_REPLIES} | {"check_candidacy"}
)


def frame(config: Dict) -> Tuple[List[Dict], List[Dict]]:
    """config.yml's pipeline around the measured part: (the guard, the FallbackClassifier
    and everything after it)."""
    pipeline = config["pipeline"]
    names = [component["name"] for component in pipeline]
    if names[0] != GUARD or FALLBACK_CLASSIFIER not in names:
        raise ValueError(
            f"config.yml's pipeline is not guard ... {FALLBACK_CLASSIFIER} ...: {names}"
        )
    return pipeline[:1], pipeline[names.index(FALLBACK_CLASSIFIER) :]


def candidate_pipeline(candidate: str) -> List[Dict]:
    return yaml.safe_load((CANDIDATES_DIR / f"{candidate}.yml").read_text())["pipeline"]


def todays_candidate() -> str:
    """The candidate whose pipeline config.yml serves (between the guard and the fallback)."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    before, after = frame(config)
    served = config["pipeline"][len(before) : len(config["pipeline"]) - len(after)]
    for path in sorted(CANDIDATES_DIR.glob("*.yml")):
        if candidate_pipeline(path.stem) == served:
            return path.stem
    raise ValueError("config.yml's pipeline is none of scripts/evaluation/nlu_candidates/")


def frame_names(candidate: str) -> List[str]:
    """The served pipeline's components, the candidate's part named by the candidate."""
    before, after = frame(yaml.safe_load((PROJECT_ROOT / "config.yml").read_text()))
    return [c["name"] for c in before] + [f"({candidate})"] + [c["name"] for c in after]


def seeded_config(candidate: str, seed: int) -> Path:
    """config.yml with the candidate's pipeline between the guard and the fallback, DIET's
    random_seed set to `seed`; written under build/seed_study/."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    before, after = frame(config)
    pipeline = candidate_pipeline(candidate)
    for component in pipeline:
        if component["name"] == "DIETClassifier":
            component["random_seed"] = seed
    config["pipeline"] = [*before, *pipeline, *after]
    CONFIGS_DIR.mkdir(parents=True, exist_ok=True)
    path = CONFIGS_DIR / f"{candidate}__seed{seed}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def other_trainings() -> List[int]:
    """Ids of `rasa train` processes running on this machine (another session's too)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if entry.name.isdigit() and any(a.endswith(b"rasa") for a in argv) and b"train" in argv:
            found.append(int(entry.name))
    return found


def wait_for_other_trainings() -> None:
    # The machine's two cores are shared: a training beside ours would slow both.
    while other_trainings():
        time.sleep(10)


def train(config: Path, attempts: int = 3) -> float:
    """Train the whole assistant with this config from scratch; return the seconds it took.

    A training waits until no other is running, and a training stopped from outside
    (SIGTERM) is started again, up to `attempts` times."""
    domain = build_domain()
    log = OUT_DIR / f"{config.stem}.train.log"
    for attempt in range(1, attempts + 1):
        wait_for_other_trainings()
        started = time.monotonic()
        # A fresh cache: Rasa would otherwise reuse components and report seconds, not a training.
        with log.open("w") as out, tempfile.TemporaryDirectory() as cache:
            done = subprocess.run(
                [
                    str(Path(sys.executable).parent / "rasa"),
                    "train",
                    "--domain",
                    str(domain),
                    "--data",
                    "data",
                    "--config",
                    str(config),
                    "--out",
                    str(OUT_DIR),
                    "--fixed-model-name",
                    config.stem,
                ],
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    "RASA_TELEMETRY_ENABLED": "false",
                    "TF_CPP_MIN_LOG_LEVEL": "3",
                    "RASA_CACHE_DIRECTORY": cache,
                },
            )
        if done.returncode == 0:
            return time.monotonic() - started
        if done.returncode != -15 or attempt == attempts:
            raise subprocess.CalledProcessError(done.returncode, done.args)
        print(
            f"  stopped from outside (SIGTERM) after {time.monotonic() - started:.0f}s; "
            "starting it again",
            flush=True,
        )
    raise AssertionError("unreachable")


def measured_commit() -> str:
    """The commit whose data and config are measured; "-dirty" when tracked files differ
    (other than this study's own report, which it rewrites as it goes)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    dirty = git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        *(f":!{path.relative_to(PROJECT_ROOT)}" for path in (REPORT_JSON, REPORT_MD)),
    )
    return git("rev-parse", "--short", "HEAD") + ("-dirty" if dirty else "")


def own_rss_mb() -> float:
    """This process's resident memory, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def evaluation_sets() -> Dict[str, List[Tuple[str, str]]]:
    """(text, expected) of each set; a Banking77 query's expected is its banking category."""
    return {
        "heldout": load_examples(),
        "near_domain": load_near_domain(),
        "banking77": load_corpus(),
    }


def score_in_this_process(model: Path) -> Dict:
    """Load the model, parse every example of every set once (after one warm-up), time it."""
    import structlog
    from rasa.core.agent import Agent

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.disable(logging.WARNING)
    rss_before = own_rss_mb()
    started = time.perf_counter()
    agent = Agent.load(str(model))
    load_seconds = time.perf_counter() - started

    async def parse_all() -> Dict[str, List[Dict]]:
        await agent.parse_message("hello")
        parsed_sets = {}
        for name, examples in evaluation_sets().items():
            rows = []
            for text, expected in examples:
                started = time.perf_counter()
                parsed = await agent.parse_message(text)
                ms = 1000 * (time.perf_counter() - started)
                ranking = [
                    [item["name"], round(float(item["confidence"]), 4)]
                    for item in parsed.get("intent_ranking", [])[:5]
                ]
                related = next(
                    (
                        entity["value"]
                        for entity in parsed.get("entities", [])
                        if entity.get("entity") == "related_topic"
                    ),
                    None,
                )
                rows.append(
                    {
                        "text": text,
                        "expected": expected,
                        "predicted": parsed["intent"]["name"],
                        "related": related,
                        "ms": ms,
                        "ranking": ranking,
                    }
                )
            parsed_sets[name] = rows
        return parsed_sets

    parsed_sets = asyncio.run(parse_all())
    return {
        "load_seconds": load_seconds,
        "rss_before_load_mb": rss_before,
        "rss_loaded_mb": own_rss_mb(),
        **parsed_sets,
    }


def score(model: Path) -> Dict:
    """score_in_this_process in a fresh interpreter (nothing else loaded in it)."""
    out = model.parent / f"{model.name}.score.json"
    wait_for_other_trainings()  # a training beside it would inflate the latencies
    subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.evaluation.seed_study",
            "--score",
            str(model),
            "--score-out",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return json.loads(out.read_text())


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The value at `share` of the sorted values, nearest rank (not bench_stats' interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def served_label(row: Dict) -> str:
    """The held-out label of the reply the patient got: the expected intent when the reply
    is the expected one (the honest reply quoting the expected topic counts), else the
    predicted intent with the fallback read as out_of_scope (the same honest reply)."""
    if is_correct(row["expected"], row["predicted"], row["related"]):
        return row["expected"]
    return SAME_REPLY.get(row["predicted"], row["predicted"])


def banking77_kind(intent: str) -> str:
    if intent in HONEST_INTENTS:
        return "honest"
    if intent in CHIT_CHAT:
        return "chit_chat"
    if intent == URGENT:
        return "false_urgent"
    return "false_answer" if intent in TOPIC_INTENTS else "other"


def metrics(scored: Dict) -> Dict:
    rows = scored["heldout"]
    labels = [served_label(r) for r in rows]
    correct = [label == r["expected"] for r, label in zip(rows, labels)]
    in_scope = [i for i, r in enumerate(rows) if r["expected"] != "out_of_scope"]
    out_scope = [i for i, r in enumerate(rows) if r["expected"] == "out_of_scope"]
    urgent_expected = [r for r in rows if r["expected"] == URGENT]
    urgent_predicted = [r for r in rows if r["predicted"] == URGENT]
    near = scored["near_domain"]
    banking = scored["banking77"]
    kinds = Counter(banking77_kind(r["predicted"]) for r in banking)
    latencies = [r["ms"] for r in rows]
    return {
        "accuracy": sum(correct) / len(rows),
        "in_scope_accuracy": sum(correct[i] for i in in_scope) / len(in_scope),
        "in_scope_given_honest_reply": sum(
            not correct[i] and rows[i]["predicted"] in HONEST_INTENTS for i in in_scope
        )
        / len(in_scope),
        "heldout_out_of_scope_honest": sum(correct[i] for i in out_scope) / len(out_scope),
        "near_domain_honest": sum(r["predicted"] in HONEST_INTENTS for r in near) / len(near),
        "banking77_false_answers": kinds["false_answer"] / len(banking),
        "banking77_false_urgent": kinds["false_urgent"] / len(banking),
        "banking77_other": kinds["other"] / len(banking),
        "urgent_recall": (
            sum(r["predicted"] == URGENT for r in urgent_expected) / len(urgent_expected)
        ),
        "urgent_precision": (
            sum(r["expected"] == URGENT for r in urgent_predicted) / len(urgent_predicted)
        )
        if urgent_predicted
        else 0.0,
        "parse_mean_ms": statistics.mean(latencies),
        "parse_p50_ms": nearest_rank(latencies, 0.50),
        "parse_p95_ms": nearest_rank(latencies, 0.95),
        "load_seconds": scored["load_seconds"],
        "rss_loaded_mb": scored["rss_loaded_mb"],
        "rss_model_mb": scored["rss_loaded_mb"] - scored["rss_before_load_mb"],
        "counts": {
            "examples": len(rows),
            "in_scope": len(in_scope),
            "out_of_scope": len(out_scope),
            "urgent": len(urgent_expected),
            "near_domain": len(near),
            "banking77": len(banking),
        },
        "banking77_kinds": dict(kinds),
        # What the report's per-intent table and confusion matrix are computed from.
        "heldout": [[r["expected"], label] for r, label in zip(rows, labels)],
        "errors": [
            [r["text"], r["expected"], label]
            for r, label in zip(rows, labels)
            if label != r["expected"]
        ],
        "near_domain_answered": [
            [r["text"], r["predicted"]] for r in near if r["predicted"] not in HONEST_INTENTS
        ],
        "banking77_false": [
            [r["text"], r["predicted"]]
            for r in banking
            if banking77_kind(r["predicted"]) in ("false_answer", "false_urgent")
        ],
    }


def run(candidates: Sequence[str], seeds: Sequence[int], keep: Optional[List[Dict]]) -> List[Dict]:
    runs = list(keep or [])
    done = {(r["candidate"], r["seed"]) for r in runs}
    # Seed by seed, the candidates in turn: both meet the same stretches of a busy machine.
    for seed in seeds:
        for candidate in candidates:
            if (candidate, seed) in done:
                continue
            config = seeded_config(candidate, seed)
            print(f"Training {config.stem} ...", flush=True)
            load_before = os.getloadavg()[0]  # other work on the machine slows a training
            seconds = train(config)
            figures = metrics(score(OUT_DIR / f"{config.stem}.tar.gz"))
            runs.append(
                {
                    "candidate": candidate,
                    "seed": seed,
                    "measured": time.strftime("%Y-%m-%d"),
                    "commit": measured_commit(),
                    "frame": frame_names(candidate),
                    "train_seconds": seconds,
                    "load_average_before": load_before,
                    **figures,
                }
            )
            print(
                f"  accuracy {figures['accuracy']:.3f}, near-domain honest "
                f"{figures['near_domain_honest']:.3f}, Banking77 false answers "
                f"{figures['banking77_false_answers']:.4f}, trained in {seconds:.0f}s, "
                f"p95 parse {figures['parse_p95_ms']:.1f} ms",
                flush=True,
            )
            # Written after each run: a stop loses one run at most (--resume keeps the rest).
            REPORT_JSON.write_text(json.dumps(runs, indent=1) + "\n")
    return runs


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--candidates", help=f"comma-separated; default: config.yml's and {ENCODER}"
    )
    parser.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)))
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"keep the runs already in {REPORT_JSON.relative_to(PROJECT_ROOT)}",
    )
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--score", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--score-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.score:
        args.score_out.write_text(json.dumps(score_in_this_process(args.score)))
        return
    today = todays_candidate()
    candidates = args.candidates.split(",") if args.candidates else [today, ENCODER]
    keep = json.loads(REPORT_JSON.read_text()) if (args.resume or args.report_only) else None
    runs = (
        keep if args.report_only else run(candidates, [int(s) for s in args.seeds.split(",")], keep)
    )
    REPORT_MD.write_text(markdown(runs, today))
    print(f"Wrote {REPORT_MD.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
