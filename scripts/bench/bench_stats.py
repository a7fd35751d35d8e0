"""Pure statistics for the benchmark (`make bench`): percentiles, throughput, ratios.

No I/O and no Rasa imports, so tests/test_bench_stats.py checks them in milliseconds.
"""

import math
from typing import Dict, Iterable, Optional, Sequence

PERCENTILES = (50, 95, 99)


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} is outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def throughput(messages: int, wall_seconds: float) -> float:
    """Messages answered per second of wall-clock time."""
    if wall_seconds <= 0:
        raise ValueError("wall-clock time must be positive")
    return messages / wall_seconds


def summarize(latencies_s: Sequence[float], wall_seconds: float, errors: int = 0) -> Dict:
    """One load level's figures: latency percentiles in ms, mean, throughput, errors."""
    summary = {f"p{p}_ms": round(1000 * percentile(latencies_s, p), 1) for p in PERCENTILES}
    summary.update(
        messages=len(latencies_s),
        errors=errors,
        mean_ms=round(1000 * sum(latencies_s) / len(latencies_s), 1),
        max_ms=round(1000 * max(latencies_s), 1),
        wall_s=round(wall_seconds, 2),
        throughput_msg_s=round(throughput(len(latencies_s), wall_seconds), 2),
    )
    return summary


def ratio(ours: Optional[float], starter: Optional[float]) -> Optional[float]:
    """ours / starter, or None when either figure is missing or the starter's is zero."""
    if ours is None or starter is None or starter == 0:
        return None
    return round(ours / starter, 2)


def ratios(ours: Dict, starter: Dict, keys: Iterable[str]) -> Dict[str, Optional[float]]:
    """ours/starter for each numeric key both summaries share."""
    return {key: ratio(ours.get(key), starter.get(key)) for key in keys}


def conversations_for(concurrency: int, per_worker: int, minimum: int) -> int:
    """How many conversations a load level runs: enough for each worker to hold several."""
    return max(concurrency * per_worker, minimum)
