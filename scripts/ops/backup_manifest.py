"""What a backup folder holds and when it expires: the manifest, its hash check, pruning.

Pure functions, no database: scripts/ops/backup.py writes and reads the folders.
A manifest names the database kind, its tables with row counts and the sha256 of each
file, never a conversation, a sender id or the database's address.
"""

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Mapping, Optional

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def folder_name(created: datetime) -> str:
    """The folder of a backup made at `created`: its UTC time, sortable, no colons."""
    return created.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_manifest(
    created: datetime,
    kind: str,
    schema: Optional[str],
    tables: Mapping[str, int],
    hashes: Mapping[str, str],
) -> Dict:
    """The manifest of one backup; `hashes` maps each file (relative path) to its sha256."""
    return {
        "format": MANIFEST_FORMAT,
        "created": created.astimezone(timezone.utc).strftime(_TIME_FORMAT),
        "database": {"kind": kind, "schema": schema, "tables": dict(sorted(tables.items()))},
        "files": dict(sorted(hashes.items())),
    }


def created_at(manifest: Mapping) -> datetime:
    return datetime.strptime(manifest["created"], _TIME_FORMAT).replace(tzinfo=timezone.utc)


def manifest_problems(manifest: Mapping, found: Mapping[str, Optional[str]]) -> List[str]:
    """Why a backup must not be restored: `found` maps each file the manifest names to the
    sha256 of the file on disk (None when missing). Empty when every file is as written."""
    if manifest.get("format") != MANIFEST_FORMAT:
        return [f"unknown manifest format {manifest.get('format')!r}"]
    problems = []
    for name, expected in manifest.get("files", {}).items():
        actual = found.get(name)
        if actual is None:
            problems.append(f"{name} is missing")
        elif actual != expected:
            problems.append(
                f"{name} has changed since the backup (sha256 {actual[:12]}..., "
                f"manifest says {expected[:12]}...)"
            )
    return problems


def expired(created: Mapping[str, datetime], now: datetime, retention_days: float) -> List[str]:
    """The backups (name -> creation time) older than `retention_days`: a conversation deleted
    on request or by retention is still in them, so they are kept no longer than that."""
    cutoff = now - timedelta(days=retention_days)
    return sorted(name for name, when in created.items() if when < cutoff)
