"""docs/nlu_evaluation.md from the seed study's runs (scripts/evaluation/seed_study.py).

Figures over seeds, the spread rule that says which pipeline is kept, and each pipeline's
per-intent report and confusion matrix (sklearn's, as `rasa test nlu` computes them).
"""

import statistics
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

from sklearn.metrics import classification_report, confusion_matrix

HIGHER, LOWER = 1, -1
# (key, label, digits, scale, which is better, decides the choice)
FIGURES: Tuple[Tuple[str, str, int, float, int, bool], ...] = (
    ("accuracy", "held-out accuracy", 3, 1, HIGHER, True),
    ("in_scope_accuracy", "in-scope accuracy", 3, 1, HIGHER, False),
    (
        "in_scope_given_honest_reply",
        "in-scope questions given the honest reply instead",
        3,
        1,
        LOWER,
        False,
    ),
    (
        "heldout_out_of_scope_honest",
        "held-out out-of-scope given the honest reply",
        3,
        1,
        HIGHER,
        False,
    ),
    (
        "near_domain_honest",
        "near-domain honesty (tests/data/near_domain_heldout.yml)",
        3,
        1,
        HIGHER,
        True,
    ),
    ("banking77_false_answers", "Banking77: false answers (topic intent), %", 2, 100, LOWER, True),
    ("banking77_false_urgent", "Banking77: false urgent, %", 2, 100, LOWER, True),
    (
        "banking77_other",
        "Banking77: other intents (booking, a person, menu, yes/no ...), %",
        2,
        100,
        LOWER,
        False,
    ),
    ("urgent_recall", "urgent recall (held-out)", 3, 1, HIGHER, True),
    ("urgent_precision", "urgent precision (held-out)", 3, 1, HIGHER, True),
    ("train_seconds", "training the assistant from scratch, empty cache (s)", 0, 1, LOWER, False),
    ("parse_mean_ms", "parse, mean (ms)", 1, 1, LOWER, False),
    ("parse_p95_ms", "parse, p95 (ms)", 1, 1, LOWER, False),
    ("load_seconds", "model load (s)", 1, 1, LOWER, False),
    ("rss_loaded_mb", "memory: process RSS with the model loaded (MB)", 0, 1, LOWER, False),
    ("rss_model_mb", "memory: RSS added by loading the model (MB)", 0, 1, LOWER, False),
)
LISTED = 25  # examples listed per kind
# Issue 11's requirement: the assistant trains from scratch in under 3 minutes (mean over
# the seeds). Meeting it is a requirement, not a figure to trade.
TRAINING_LIMIT_SECONDS = 180


def spread(values: Sequence[float], digits: int, scale: float = 1) -> str:
    """mean ± sample standard deviation (min–max)."""
    values = [v * scale for v in values]
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return (
        f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f} "
        f"({min(values):.{digits}f}–{max(values):.{digits}f})"
    )


def lead(base: Sequence[float], other: Sequence[float], better: int) -> Optional[str]:
    """ "base" or "other" when its worst seed beats the other's best (the ranges do not
    overlap), else None: a difference within the seeds' spread is no lead."""

    def beats(first: Sequence[float], second: Sequence[float]) -> bool:
        if better == HIGHER:
            return min(first) > max(second)
        return max(first) < min(second)

    if beats(base, other):
        return "base"
    return "other" if beats(other, base) else None


def grouped(runs: List[Dict]) -> Dict[str, List[Dict]]:
    candidates = list(dict.fromkeys(r["candidate"] for r in runs))
    return {
        c: sorted((r for r in runs if r["candidate"] == c), key=lambda r: r["seed"])
        for c in candidates
    }


def comparison(base: List[Dict], other: List[Dict]) -> Dict[str, List[str]]:
    """Figure labels by who leads beyond the spread, and whether `other` is preferred:
    it leads on a deciding figure and trails on none; or, trailing on none, it trains within
    TRAINING_LIMIT_SECONDS and `base` does not. One that misses the limit when `base` meets
    it is never preferred."""
    found: Dict[str, List[str]] = {"base": [], "other": [], "within": []}
    deciding: Dict[str, List[str]] = {"base": [], "other": []}
    for key, label, _, _, better, decides in FIGURES:
        who = lead([r[key] for r in base], [r[key] for r in other], better)
        found[who or "within"].append(label)
        if who and decides:
            deciding[who].append(label)
    base_fast, other_fast = trains_in_time(base), trains_in_time(other)
    if base_fast != other_fast:
        preferred = "other" if other_fast and not deciding["base"] else "base"
    else:
        preferred = "other" if deciding["other"] and not deciding["base"] else "base"
    return {
        **found,
        "deciding_base": deciding["base"],
        "deciding_other": deciding["other"],
        "preferred": [preferred],
        "in_time": [name for name, fast in (("base", base_fast), ("other", other_fast)) if fast],
    }


def trains_in_time(runs: List[Dict]) -> bool:
    return statistics.mean(r["train_seconds"] for r in runs) < TRAINING_LIMIT_SECONDS


def kept(by: Dict[str, List[Dict]], today: str) -> str:
    """The pipeline the spread rule keeps: today's, unless a candidate is preferred to it."""
    return next(
        (
            other
            for other in by
            if other != today and comparison(by[today], by[other])["preferred"] == ["other"]
        ),
        today,
    )


def listed(labels: List[str]) -> str:
    return "; ".join(labels) if labels else "none"


def verdict(by: Dict[str, List[Dict]], today: str) -> List[str]:
    base = today if today in by else next(iter(by))
    lines = []
    for other in (c for c in by if c != base):
        found = comparison(by[base], by[other])
        kept, rival = (other, base) if found["preferred"] == ["other"] else (base, other)
        lines += [f"**Kept: `{kept}`** (against `{rival}`).", ""]
        lines += [
            f"- `{base}` leads beyond the spread on: {listed(found['base'])}.",
            f"- `{other}` leads beyond the spread on: {listed(found['other'])}.",
            f"- Within the spread (no lead): {listed(found['within'])}.",
            "",
        ]
        limit = f"trains from scratch in under {TRAINING_LIMIT_SECONDS} s on average"
        in_time = found["in_time"]
        if kept == base:
            if in_time == ["base"]:
                why = f"only `{base}` {limit}"
            elif not found["deciding_other"]:
                why = f"`{other}` does not lead beyond the spread on any deciding figure"
            else:
                why = (
                    f"`{other}` leads on {listed(found['deciding_other'])} but trails beyond "
                    f"the spread on {listed(found['deciding_base'])}"
                )
            served = " (today's pipeline is what config.yml serves)" if base == today else ""
            lines.append(f"Why: {why}, so the change is not made{served}.")
        else:
            why = (
                f"only `{other}` {limit}, and it trails on no deciding figure"
                if in_time == ["other"]
                else f"`{other}` leads beyond the spread on {listed(found['deciding_other'])} "
                "and trails on no deciding figure"
            )
            lines.append(f"Why: {why}; config.yml still serves `{today}` until it is changed.")
        lines.append("")
    return lines


def intent_report(runs: List[Dict]) -> Tuple[List[str], List[Dict], "object"]:
    """Labels, each run's sklearn classification report, and the confusion matrix summed
    over the runs (rows: expected, columns: what the reply was)."""
    labels = sorted({label for r in runs for pair in r["heldout"] for label in pair})
    reports, matrix = [], None
    for r in runs:
        expected, got = zip(*r["heldout"])
        reports.append(
            classification_report(expected, got, labels=labels, output_dict=True, zero_division=0)
        )
        counts = confusion_matrix(expected, got, labels=labels)
        matrix = counts if matrix is None else matrix + counts
    return labels, reports, matrix


def intent_tables(candidate: str, runs: List[Dict]) -> List[str]:
    labels, reports, matrix = intent_report(runs)
    seeds = ", ".join(str(r["seed"]) for r in runs)
    lines = [
        "",
        f"## Per intent: {candidate}",
        "",
        f"sklearn's `classification_report` for each seed's model ({seeds}) on the held-out "
        "set; precision, recall and F1 are the mean over the seeds (F1 ± its standard "
        'deviation), support is per seed. "Confused with" counts, over all the seeds, what '
        "the intent's examples got instead.",
        "",
        "| intent | precision | recall | F1 | support | confused with |",
        "|---|---|---|---|---|---|",
    ]

    def mean(row: str, key: str) -> List[float]:
        return [report[row][key] for report in reports]

    for i, label in enumerate(labels):
        wrong = sorted(
            ((int(n), labels[j]) for j, n in enumerate(matrix[i]) if j != i and n), reverse=True
        )[:3]
        lines.append(
            f"| {label} | {statistics.mean(mean(label, 'precision')):.2f} | "
            f"{statistics.mean(mean(label, 'recall')):.2f} | "
            f"{spread(mean(label, 'f1-score'), 2).split(' (')[0]} | "
            f"{int(reports[0][label]['support'])} | "
            + ", ".join(f"{name} ({n})" for n, name in wrong)
            + " |"
        )
    for row in ("macro avg", "weighted avg"):
        lines.append(
            f"| *{row}* | {statistics.mean(mean(row, 'precision')):.3f} | "
            f"{statistics.mean(mean(row, 'recall')):.3f} | "
            f"{spread(mean(row, 'f1-score'), 3).split(' (')[0]} | "
            f"{int(reports[0][row]['support'])} | |"
        )
    lines += [
        "",
        f"### Confusion matrix: {candidate}",
        "",
        f"Summed over the seeds ({seeds}): each row (the expected intent) adds up to "
        f"{len(runs)} × its support; a column is the label of the reply the example got "
        "(`nlu_fallback` counted as `out_of_scope`). Columns are numbered as the rows; "
        "`·` is 0.",
        "",
        "| expected \\ got | " + " | ".join(str(j + 1) for j in range(len(labels))) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for i, label in enumerate(labels):
        cells = [(f"**{n}**" if i == j else str(n)) if n else "·" for j, n in enumerate(matrix[i])]
        lines.append(f"| {i + 1} {label} | " + " | ".join(cells) + " |")
    return lines


def in_every_run(runs: List[Dict], key: str) -> Tuple[List[Tuple], int]:
    """The entries of `key` found in every run, and how many distinct ones any run had."""
    seen = Counter(tuple(entry) for r in runs for entry in {tuple(e) for e in r[key]})
    return sorted(entry for entry, n in seen.items() if n == len(runs)), len(seen)


def listing(title: str, header: str, runs: List[Dict], key: str) -> List[str]:
    always, distinct = in_every_run(runs, key)
    lines = ["", f"### {title} ({len(always)} in every seed, {distinct} in at least one)", ""]
    if not always:
        return lines + ["None in every seed."]
    columns = header.count("|") - 1
    lines += [header, "|" + "---|" * columns]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in entry) + " |"
        for entry in always[:LISTED]
    ]
    if len(always) > LISTED:
        lines.append(f"\n... and {len(always) - LISTED} more (docs/nlu_evaluation.json).")
    return lines


def method(runs: List[Dict], today: str) -> List[str]:
    counts = runs[0]["counts"]
    return [
        "## Method",
        "",
        "- **As served.** Each pipeline is config.yml's pipeline with only the part between "
        "the input guard and the FallbackClassifier replaced by the candidate's "
        "(`scripts/evaluation/nlu_candidates/`): "
        + " → ".join(f"`{name}`" for name in runs[0]["frame"])
        + f"; config.yml's policies. `{today}` is the part config.yml serves today.",
        "- **Seeds.** DIET's `random_seed` is each seed in turn; the whole assistant (NLU and "
        "dialogue) is trained from scratch with an empty cache, seed by seed, the pipelines "
        "in turn, each training waiting until no other `rasa train` runs on the machine. "
        "Each model is scored in a fresh process, one parse per message after one warm-up.",
        f"- **Held-out set** (`tests/data/nlu_heldout.yml`, {counts['examples']} examples, never "
        f"trained on; {counts['urgent']} urgent). A reply counts as right as "
        "tests/test_nlu_heldout.py counts it: `nlu_fallback` and `out_of_scope` are the "
        "same honest reply, and the honest reply that quotes the expected topic's answer "
        "is right. Latency and memory are measured on these parses.",
        f"- **Near-domain honesty**: the share of the {counts['near_domain']} microneedling "
        "questions the article does not answer (`tests/data/near_domain_heldout.yml`) predicted "
        "`out_of_scope` or `nlu_fallback`.",
        f"- **Banking77** (`tests/data/corpora/banking77_test.csv`, {counts['banking77']} everyday "
        "banking requests, never trained on): the intent the served pipeline predicts. A "
        "topic intent (an article answer or `check_candidacy`) is a false answer, "
        "`urgent_symptom` a false urgent; `out_of_scope`/`nlu_fallback` and chit-chat "
        "(`greet`, `goodbye`, `thank`, `bot_challenge`) are harmless. The domain gate "
        "learns from 12 requests a category of Banking77's *train* split and its thresholds "
        "were set while watching the test split (nlu_components/domain_gate.py), so this "
        "figure is not blind. What a patient gets in a whole conversation is `make eval-ood`'s.",
        "- A figure is mean ± sample standard deviation (min–max) over the seeds.",
        "- **The spread rule.** A pipeline leads on a figure beyond the spread when its worst "
        "seed is better than the other's best (the min–max ranges do not overlap). The "
        "candidate is preferred only when it leads beyond the spread on at least one deciding "
        "figure (marked ✱: held-out accuracy, near-domain honesty, Banking77 false answers "
        "and false urgent, urgent recall and precision) and trails beyond the spread on none; "
        "otherwise today's pipeline is kept. Costs (training, parse, memory) are reported, "
        "not deciding, with one exception: training from scratch in under "
        f"{TRAINING_LIMIT_SECONDS} s (mean over the seeds) is a requirement (issue 11), so "
        "of two pipelines that only one meets it, that one is kept unless it trails beyond "
        "the spread on a deciding figure.",
        "- Per-intent reports and confusion matrices are over every seed's model (see each).",
    ]


def markdown(runs: List[Dict], today: str) -> str:
    by = grouped(runs)
    dates = sorted({r["measured"] for r in runs})
    commits = ", ".join(f"`{c}`" for c in dict.fromkeys(r["commit"] for r in runs))
    lines = [
        "# NLU evaluation: today's pipeline and a candidate over several training seeds",
        "",
        f"Generated by `make eval-nlu` (scripts/evaluation/seed_study.py, scripts/evaluation/seed_report.py); "
        f"measured {' to '.join(dict.fromkeys([dates[0], dates[-1]]))} at commit {commits} "
        "(its data, config.yml and components) on a 2-CPU machine "
        "shared with other work (load averages per run below). The single-seed comparison "
        "that chose the DIET features and the fallback threshold is "
        "[`nlu_pipeline_choice.md`](nlu_pipeline_choice.md).",
        "",
        *method(runs, today),
        "",
        "## Summary",
        "",
        "| figure | "
        + " | ".join(f"`{c}` (seeds {', '.join(str(r['seed']) for r in by[c])})" for c in by)
        + " |",
        "|---|" + "---|" * len(by),
    ]
    for key, label, digits, scale, _, decides in FIGURES:
        cells = [spread([r[key] for r in by[c]], digits, scale) for c in by]
        lines.append(f"| {label}{' ✱' if decides else ''} | " + " | ".join(cells) + " |")
    lines += ["", "## Which is kept", "", *verdict(by, today)]
    lines += [
        "## Each run",
        "",
        "| pipeline | seed | accuracy | near-domain honest | Banking77 false answers / "
        "urgent | urgent recall / precision | training (s) | load average before it | "
        "parse p95 (ms) | RSS loaded (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        kinds = r["banking77_kinds"]
        lines.append(
            f"| {r['candidate']} | {r['seed']} | {r['accuracy']:.3f} | "
            f"{r['near_domain_honest']:.3f} | {kinds.get('false_answer', 0)} / "
            f"{kinds.get('false_urgent', 0)} | "
            f"{r['urgent_recall']:.2f} / {r['urgent_precision']:.2f} | "
            f"{r['train_seconds']:.0f} | {r['load_average_before']:.2f} | "
            f"{r['parse_p95_ms']:.1f} | {r['rss_loaded_mb']:.0f} |"
        )
    for candidate, runs_of in by.items():
        lines += intent_tables(candidate, runs_of)
        lines += ["", f"## Misses: {candidate}"]
        lines += listing("Held-out examples wrong", "| text | expected | got |", runs_of, "errors")
        lines += listing(
            "Near-domain questions given an answer",
            "| text | predicted |",
            runs_of,
            "near_domain_answered",
        )
        lines += listing(
            "Banking77 requests given a topic or urgent intent",
            "| text | predicted |",
            runs_of,
            "banking77_false",
        )
    return "\n".join(lines) + "\n"
