"""Today's pipeline against a candidate, each trained with several DIET seeds (`make eval-seeds`).

A candidate from scripts/nlu_candidates/ is put in config.yml's frame (the input guard
first, the FallbackClassifier and the urgent-symptom safety net last, as
tests/test_pipeline_choice.py describes it), so every model here is scored as it would be
served. Each model is a whole assistant (NLU and dialogue, as `make train` trains it), trained
from scratch with an empty cache, and its NLU is scored in a fresh process of its own, so that its memory figure is its own: held-out accuracy, near-domain
honesty, out-of-domain false answers, urgent recall and precision, parse latency per
message, load time and resident memory. Figures are given as mean, standard deviation and
range over the seeds.

Writes docs/nlu_seed_study.md and docs/nlu_seed_study.json.
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
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from scripts.build_domain import build_domain
from scripts.compare_pipelines import CANDIDATES_DIR
from scripts.nlu_evaluation import FALLBACK, load_examples

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIGS_DIR = OUT_DIR = PROJECT_ROOT / "build" / "seed_study"
DOCS = PROJECT_ROOT / "docs"
REPORT_JSON = DOCS / "nlu_seed_study.json"
REPORT_MD = DOCS / "nlu_seed_study.md"
TODAY = "whitespace_char_ngrams_40_epochs"  # config.yml's pipeline (tests/test_pipeline_choice.py)
DEFAULT_CANDIDATES = (TODAY, "whitespace_char_ngrams_sentence_encoder")
DEFAULT_SEEDS = (1, 2, 3)
HONEST = {"out_of_scope", FALLBACK}
URGENT = "urgent_symptom"
# An out-of-scope held-out example is near-domain when it is about the clinic, the skin or
# a treatment (price, a session's length, another treatment, aftercare products, pregnancy):
# the patient's question sounds answerable and the honest reply is "I can't answer that".
# The rest (weather, sport, gibberish, a poem) are far out of the domain.
NEAR_DOMAIN_TERMS = (
    "microneedl", "micro needl", "needl", "derma", "skin", "session", "appointment", "clinic",
    "insurance", "financ", "payment", "credit", "botox", "filler", "laser", "peel", "facial",
    "prp", "serum", "moistur", "spf", "sunscreen", "breastfeed", "pregnan", "trimester", "hair",
    "scalp", "stomach", "belly", "cellulite", "hands", "discount", "price", "cost", "fee",
    "opening hours", "located", "hyaluronic", "vitamin", "cream", "start to finish", "after",
)


def near_domain(text: str) -> bool:
    lowered = text.lower()
    return any(term in lowered for term in NEAR_DOMAIN_TERMS)


def seeded_config(candidate: str, seed: int) -> Path:
    """config.yml with the candidate's pipeline between the guard and the fallback, DIET's
    random_seed set to `seed`; written under build/seed_study/."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    guard, *_, fallback, safety_net = config["pipeline"]
    pipeline = yaml.safe_load((CANDIDATES_DIR / f"{candidate}.yml").read_text())["pipeline"]
    for component in pipeline:
        if component["name"] == "DIETClassifier":
            component["random_seed"] = seed
    config["pipeline"] = [guard, *pipeline, fallback, safety_net]
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


def train(config: Path, attempts: int = 3) -> float:
    """Train the whole assistant with this config from scratch; return the seconds it took.

    The machine's two cores are shared: a training waits until no other is running, and a
    training stopped from outside (SIGTERM) is started again, up to `attempts` times."""
    domain = build_domain()
    log = OUT_DIR / f"{config.stem}.train.log"
    for attempt in range(1, attempts + 1):
        while other_trainings():
            time.sleep(10)
        started = time.monotonic()
        # A fresh cache: Rasa would otherwise reuse components and report seconds, not a training.
        with log.open("w") as out, tempfile.TemporaryDirectory() as cache:
            done = subprocess.run(
                [str(Path(sys.executable).parent / "rasa"), "train", "--domain", str(domain),
                 "--data", "data", "--config", str(config), "--out", str(OUT_DIR),
                 "--fixed-model-name", config.stem],
                cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
                     "RASA_CACHE_DIRECTORY": cache},
            )
        if done.returncode == 0:
            return time.monotonic() - started
        if done.returncode != -15 or attempt == attempts:
            raise subprocess.CalledProcessError(done.returncode, done.args)
        print(f"  stopped from outside (SIGTERM) after {time.monotonic() - started:.0f}s; "
              "starting it again", flush=True)
    raise AssertionError("unreachable")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def score_in_this_process(model: Path) -> Dict:
    """Load the model, parse every held-out example once (after one warm-up), and time it."""
    import structlog
    from rasa.core.agent import Agent

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.disable(logging.WARNING)
    rss_before = rss_mb()
    started = time.perf_counter()
    agent = Agent.load(str(model))
    load_seconds = time.perf_counter() - started
    examples = load_examples()

    async def parse_all() -> List[Dict]:
        await agent.parse_message("hello")
        rows = []
        for text, expected in examples:
            started = time.perf_counter()
            parsed = await agent.parse_message(text)
            ms = 1000 * (time.perf_counter() - started)
            ranking = [[item["name"], round(float(item["confidence"]), 4)]
                       for item in parsed.get("intent_ranking", [])[:5]]
            rows.append({"text": text, "expected": expected, "predicted": parsed["intent"]["name"],
                         "ms": ms, "ranking": ranking})
        return rows

    rows = asyncio.run(parse_all())
    return {"load_seconds": load_seconds, "rss_before_load_mb": rss_before,
            "rss_loaded_mb": rss_mb(), "parses": rows}


def score(model: Path) -> Dict:
    """score_in_this_process in a fresh interpreter (nothing else loaded in it)."""
    out = model.parent / f"{model.name}.score.json"
    subprocess.run([sys.executable, "-m", "scripts.seed_study", "--score", str(model),
                    "--score-out", str(out)], cwd=PROJECT_ROOT, check=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return json.loads(out.read_text())


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def metrics(scored: Dict) -> Dict:
    rows = scored["parses"]

    def answered(row: Dict) -> str:
        return "out_of_scope" if row["predicted"] in HONEST else row["predicted"]

    out_scope = [r for r in rows if r["expected"] == "out_of_scope"]
    near = [r for r in out_scope if near_domain(r["text"])]
    far = [r for r in out_scope if not near_domain(r["text"])]
    in_scope = [r for r in rows if r["expected"] != "out_of_scope"]
    urgent_expected = [r for r in rows if r["expected"] == URGENT]
    urgent_predicted = [r for r in rows if r["predicted"] == URGENT]
    latencies = [r["ms"] for r in rows]
    return {
        "accuracy": sum(answered(r) == r["expected"] for r in rows) / len(rows),
        "in_scope_accuracy": sum(answered(r) == r["expected"] for r in in_scope) / len(in_scope),
        "in_scope_lost_to_fallback": sum(r["predicted"] == FALLBACK for r in in_scope) / len(in_scope),
        "near_domain_honest": sum(answered(r) == "out_of_scope" for r in near) / len(near),
        "far_ood_false_answers": sum(answered(r) != "out_of_scope" for r in far) / len(far),
        "urgent_recall": sum(r["predicted"] == URGENT for r in urgent_expected) / len(urgent_expected),
        "urgent_precision": (sum(r["expected"] == URGENT for r in urgent_predicted)
                             / len(urgent_predicted)) if urgent_predicted else 0.0,
        "parse_mean_ms": statistics.mean(latencies),
        "parse_p50_ms": percentile(latencies, 0.50),
        "parse_p95_ms": percentile(latencies, 0.95),
        "load_seconds": scored["load_seconds"],
        "rss_loaded_mb": scored["rss_loaded_mb"],
        "rss_model_mb": scored["rss_loaded_mb"] - scored["rss_before_load_mb"],
        "counts": {"examples": len(rows), "near_domain": len(near), "far_ood": len(far),
                   "urgent": len(urgent_expected)},
        "errors": [[r["text"], r["expected"], r["predicted"]] for r in rows
                   if answered(r) != r["expected"]],
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
            runs.append({"candidate": candidate, "seed": seed, "train_seconds": seconds,
                         "load_average_before": load_before, **figures})
            print(f"  accuracy {figures['accuracy']:.3f}, trained in {seconds:.0f}s, "
                  f"p95 parse {figures['parse_p95_ms']:.1f} ms", flush=True)
            REPORT_JSON.write_text(json.dumps(runs, indent=2) + "\n")  # a stop loses one run at most
    return runs


FIGURES = (  # (key, label, digits, scale)
    ("accuracy", "held-out accuracy (as served: guard, fallback 0.3, urgent net)", 3, 1),
    ("in_scope_accuracy", "in-scope accuracy", 3, 1),
    ("in_scope_lost_to_fallback", "in-scope questions lost to the fallback", 3, 1),
    ("near_domain_honest", "near-domain out-of-scope answered honestly", 3, 1),
    ("far_ood_false_answers", "far out-of-domain given a topic's answer", 3, 1),
    ("urgent_recall", "urgent recall", 3, 1),
    ("urgent_precision", "urgent precision", 3, 1),
    ("train_seconds", "training the assistant from scratch, empty cache (s)", 1, 1),
    ("parse_mean_ms", "parse, mean (ms)", 2, 1),
    ("parse_p95_ms", "parse, p95 (ms)", 2, 1),
    ("load_seconds", "model load (s)", 2, 1),
    ("rss_loaded_mb", "process RSS with the model loaded (MB)", 0, 1),
    ("rss_model_mb", "RSS added by loading the model (MB)", 0, 1),
)


def spread(values: Sequence[float], digits: int) -> str:
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return (f"{mean:.{digits}f} ± {sd:.{digits}f} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")


def markdown(runs: List[Dict]) -> str:
    candidates = list(dict.fromkeys(r["candidate"] for r in runs))
    by = {c: [r for r in runs if r["candidate"] == c] for c in candidates}
    counts = runs[0]["counts"]
    lines = [
        "# Today's pipeline and a candidate over several training seeds",
        "",
        "Generated by `make eval-seeds` (scripts/seed_study.py). Each candidate pipeline is "
        "put in config.yml's frame (input guard first; FallbackClassifier 0.3 and the "
        "urgent-symptom safety net last; config.yml's policies) and the whole assistant is "
        "trained from scratch, empty cache, with each DIET `random_seed`; each model is then scored in a fresh process on the held-out set "
        f"(`tests/nlu_heldout.yml`, {counts['examples']} examples), one parse per example after "
        "one warm-up. A figure is mean ± standard deviation (min–max) over the seeds.",
        "",
        f"Out-of-scope held-out examples: {counts['near_domain']} near-domain (about the clinic, "
        f"the skin or a treatment, e.g. prices, other treatments, aftercare products) and "
        f"{counts['far_ood']} far out of the domain (weather, sport, gibberish); the split is "
        "`NEAR_DOMAIN_TERMS` in the script. Urgent: "
        f"{counts['urgent']} held-out `urgent_symptom` examples.",
        "",
        "| figure | " + " | ".join(f"{c} (seeds {', '.join(str(r['seed']) for r in by[c])})"
                                    for c in candidates) + " |",
        "|---|" + "---|" * len(candidates),
    ]
    for key, label, digits, _ in FIGURES:
        lines.append(f"| {label} | " + " | ".join(spread([r[key] for r in by[c]], digits)
                                                  for c in candidates) + " |")
    lines += ["", "## Each run", "",
              "| candidate | seed | accuracy | near-domain honest | far OOD false answers | "
              "urgent recall / precision | training (s) | load average before it | "
              "parse p95 (ms) | RSS loaded (MB) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['candidate']} | {r['seed']} | {r['accuracy']:.3f} | "
                     f"{r['near_domain_honest']:.3f} | {r['far_ood_false_answers']:.3f} | "
                     f"{r['urgent_recall']:.2f} / {r['urgent_precision']:.2f} | "
                     f"{r['train_seconds']:.0f} | {r['load_average_before']:.2f} | "
                     f"{r['parse_p95_ms']:.1f} | {r['rss_loaded_mb']:.0f} |")
    for c in candidates:
        wrong: Dict[tuple, int] = {}
        for r in by[c]:
            for text, expected, predicted in r["errors"]:
                wrong[(text, expected)] = wrong.get((text, expected), 0) + 1
        always = sorted(key for key, n in wrong.items() if n == len(by[c]))
        lines += ["", f"## Wrong in every seed: {c} ({len(always)})", "",
                  "| text | expected |", "|---|---|"]
        lines += [f"| {text} | {expected} |" for text, expected in always]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", default=",".join(DEFAULT_CANDIDATES))
    parser.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)))
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs already in docs/nlu_seed_study.json")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--score", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--score-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.score:
        args.score_out.write_text(json.dumps(score_in_this_process(args.score)))
        return
    keep = json.loads(REPORT_JSON.read_text()) if (args.resume or args.report_only) else None
    runs = keep if args.report_only else run(
        args.candidates.split(","), [int(s) for s in args.seeds.split(",")], keep)
    REPORT_MD.write_text(markdown(runs))
    print(f"Wrote {REPORT_MD.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
