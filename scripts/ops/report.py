"""Write the clinic's report from the tracker store: one HTML page and its numbers as JSON.

Reads the store TRACKER_STORE_URL points at (default the SQLite file var/conversations.db;
PostgreSQL the same way), read-only.

    python -m scripts.ops.report [--out var/reports/report.html] [--timezone UTC] [--min-conversations 2]
"""

import argparse
import itertools
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from clinic.clinic_config import load_clinic_config
from analytics.conversation_stats import Report, summarise
from analytics.report_page import render
from scripts.ops.private_files import write_private
from scripts.ops import settings
from staff.database import events_table, tracker_store_url

DEFAULT_OUT = settings.DEFAULT_REPORT_OUT
# Rows fetched per round trip: a long history never sits in memory whole.
BATCH_ROWS = 2000


def stored_conversations(url: str) -> Iterator[Tuple[str, Iterator[Dict[str, Any]]]]:
    """(sender id, its events in order) for every conversation in the store."""
    found = events_table(url)
    if found is None:
        return
    engine, events = found
    query = sa.select(events.c.sender_id, events.c.data).order_by(events.c.sender_id, events.c.id)
    with engine.connect() as connection:
        rows = connection.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
            query
        )
        for sender, group in itertools.groupby(rows, key=lambda row: row[0]):
            yield sender, (json.loads(row[1]) for row in group)


def write_report(report: Report, out: Path, clinic_name: str, generated_on: str) -> Path:
    """The HTML page at `out` and the same numbers beside it as `<out>.json`."""
    # Counts only, but of health data: readable by the clinic's account alone, like the logs
    # (a folder that exists keeps its mode: --out may name a shared one on purpose).
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(out, render(report, clinic_name, generated_on))
    sidecar = out.with_suffix(".json")
    write_private(
        sidecar,
        json.dumps({"generated_on": generated_on, **report.as_dict()}, indent=2, ensure_ascii=False)
        + "\n",
    )
    return sidecar


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=settings.report_out())
    parser.add_argument(
        "--timezone",
        default=settings.report_timezone(),
        help="the clinic's time zone for days, e.g. Europe/London",
    )
    parser.add_argument(
        "--min-conversations",
        type=int,
        default=2,
        help="show an unanswered question only when this many conversations asked it",
    )
    args = parser.parse_args()
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        parser.error(
            f"unknown time zone {args.timezone!r} (e.g. UTC, Europe/London, America/New_York)"
        )
    if args.min_conversations < 1:
        parser.error("--min-conversations must be at least 1")
    try:
        report = summarise(
            stored_conversations(tracker_store_url()), args.timezone, args.min_conversations
        )
    except sa.exc.OperationalError as error:
        # Say which store without its password.
        store = sa.engine.make_url(tracker_store_url()).render_as_string(hide_password=True)
        sys.exit(f"Cannot read the tracker store {store}: {error.orig}")
    generated_on = datetime.now(zone).date().isoformat()
    sidecar = write_report(report, args.out, load_clinic_config().name, generated_on)
    print(
        f"Report of {report.conversations} conversation(s), {report.messages} message(s) "
        f"({report.first_day or '-'} to {report.last_day or '-'}): {args.out} (numbers: {sidecar})"
    )


if __name__ == "__main__":
    main()
