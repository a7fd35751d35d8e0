"""Back up and restore the conversations database and the installation secrets, prune old backups.

A backup is a folder, owner-only, named for its UTC time (scripts/ops/backup_manifest.py):
the database (SQLite: a copy through SQLite's online backup API, consistent while the
servers write; PostgreSQL: `pg_dump --format=custom` of POSTGRESQL_SCHEMA, else `public`),
the secrets that stored conversation references depend on (LOG_ID_SALT, and
CONVERSATION_ID_SECRET, without which no restored REST or widget conversation id verifies:
the environment's when set, as the servers use it, e.g. from /etc/clinic-assistant/env;
else var/'s files), and manifest.json.

    python -m scripts.ops.backup create [--dir var/backups] [--var-dir var]
    python -m scripts.ops.backup restore FOLDER [--var-dir var] [--force]
    python -m scripts.ops.backup prune [--dir var/backups] [--days N]

The database is the one TRACKER_STORE_URL names, as for the servers.
"""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import sqlalchemy as sa

from channels import conversation_ids
from scripts.ops.backup_manifest import (
    MANIFEST_NAME,
    build_manifest,
    created_at,
    expired,
    folder_name,
    manifest_problems,
    sha256_of,
)
from scripts.ops.cluster import postgres_bin
from scripts.ops.private_files import (
    PRIVATE_UMASK,
    make_private,
    open_private,
    private_dir,
    write_private,
)
from scripts.ops.serve import sqlite_files
from scripts.ops.settings import VAR_DIR
from staff.database import open_engine, schema_for, tracker_store_url

DEFAULT_BACKUP_ROOT = VAR_DIR / "backups"
# The files in var/ a restored database needs, and the variable that overrides each.
SECRET_FILES = {
    "log_id_salt": "LOG_ID_SALT",
    "conversation_id_secret": conversation_ids.SECRET_VARIABLE,
}
SECRETS_FOLDER = "secrets"
SQLITE_COPY = "conversations.db"
POSTGRESQL_DUMP = "conversations.pgdump"


class BackupError(RuntimeError):
    """A backup or a restore that cannot go ahead; the message says why."""


def database_kind(url: str) -> str:
    backend = sa.engine.make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL tracker stores, not {backend}")
    return backend


# SQLite


def _sqlite_path(url: str) -> Path:
    return sqlite_files(url)[0]


def _sqlite_counts(connection: sqlite3.Connection) -> Dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names
    }


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy `source` into `target` page by page in one step, under one read transaction, so
    the copy is a single moment of the database even while the servers write (WAL mode lets
    them); a file copy of a WAL database can miss or tear the latest commits."""
    if not target.exists():
        open_private(target, "wb").close()
    with (
        closing(sqlite3.connect(source, timeout=30)) as reader,
        closing(sqlite3.connect(target, timeout=30)) as writer,
    ):
        reader.backup(writer)


def _backup_sqlite(url: str, folder: Path) -> Dict[str, int]:
    database = _sqlite_path(url)
    if not database.exists():
        raise BackupError(f"there is no database at {database} yet")
    target = folder / SQLITE_COPY
    _sqlite_copy(database, target)
    with closing(sqlite3.connect(target)) as copy:
        # One self-contained file: no -wal beside it to forget.
        copy.execute("PRAGMA journal_mode=DELETE")
        return _sqlite_counts(copy)


def _sqlite_rows(url: str) -> Dict[str, int]:
    database = _sqlite_path(url)
    if not database.exists():
        return {}
    with closing(sqlite3.connect(database, timeout=30)) as connection:
        return _sqlite_counts(connection)


def _restore_sqlite(folder: Path, url: str) -> Dict[str, int]:
    database = _sqlite_path(url)
    private_dir(database.parent)
    _sqlite_copy(folder / SQLITE_COPY, database)
    make_private(sqlite_files(url))
    return _sqlite_rows(url)


# PostgreSQL


def _pg_tool(name: str) -> str:
    """The newest Debian pg_dump / pg_restore (it must be no older than the server), else
    the one on PATH."""
    try:
        return str(postgres_bin(name) / name)
    except RuntimeError:
        found = shutil.which(name)
        if not found:
            raise BackupError(
                f"{name} is not installed (Debian package postgresql-client)"
            ) from None
        return found


def _pg_env(url: str) -> Dict[str, str]:
    """libpq's variables for `url`: the password never goes on a command line, which every
    user of the machine can read."""
    database = sa.engine.make_url(url)
    values = {
        "PGHOST": database.host,
        "PGPORT": database.port,
        "PGUSER": database.username,
        "PGPASSWORD": database.password,
        "PGDATABASE": database.database,
    }
    return {**os.environ, **{k: str(v) for k, v in values.items() if v is not None}}


def _pg_schema(url: str) -> str:
    return schema_for(url) or "public"


def _pg_counts(connection: sa.engine.Connection, schema: str) -> Dict[str, int]:
    return {
        name: connection.execute(
            sa.select(sa.func.count()).select_from(sa.table(name, schema=schema))
        ).scalar()
        for name in sa.inspect(connection).get_table_names(schema=schema)
    }


def _run(command: List[str], url: str) -> None:
    done = subprocess.run(
        command, env=_pg_env(url), capture_output=True, text=True, umask=PRIVATE_UMASK
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def _backup_postgresql(url: str, folder: Path) -> Dict[str, int]:
    schema = _pg_schema(url)
    engine = open_engine(url)
    try:
        # pg_dump reads the snapshot this transaction exported, so the row counts in the
        # manifest are those of the dump, whatever the servers write meanwhile.
        with (
            engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
            connection.begin(),
        ):
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
            counts = _pg_counts(connection, schema)
            _run(
                [
                    _pg_tool("pg_dump"),
                    "--format=custom",
                    f"--schema={schema}",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={folder / POSTGRESQL_DUMP}",
                ],
                url,
            )
    finally:
        engine.dispose()
    return counts


def _pg_rows(url: str) -> Dict[str, int]:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return _pg_counts(connection, _pg_schema(url))
    finally:
        engine.dispose()


def _restore_postgresql(folder: Path, url: str) -> Dict[str, int]:
    # --clean drops what the dump recreates (the schema and its tables, empty or forced),
    # all in one transaction: a failed restore leaves the database as it was.
    _run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            f"--dbname={sa.engine.make_url(url).database}",
            str(folder / POSTGRESQL_DUMP),
        ],
        url,
    )
    return _pg_rows(url)


_BACKUP = {"sqlite": _backup_sqlite, "postgresql": _backup_postgresql}
_RESTORE = {"sqlite": _restore_sqlite, "postgresql": _restore_postgresql}
_ROWS = {"sqlite": _sqlite_rows, "postgresql": _pg_rows}


# Backup, restore, prune


def _new_folder(root: Path, created: datetime) -> Path:
    private_dir(root)
    name = folder_name(created)
    for suffix in ["", *(f"-{n}" for n in range(1, 100))]:
        folder = root / f"{name}{suffix}"
        try:
            folder.mkdir(mode=0o700)
            return folder
        except FileExistsError:
            continue
    raise BackupError(f"too many backups named {name} in {root}")


def _files_of(folder: Path) -> List[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME
    )


def servers_secrets(var_dir: Path, env: Mapping[str, str]) -> Dict[str, str]:
    """The secrets as the servers read them (scripts/ops/serve.py): the environment's when set,
    else var/'s file; by file name."""
    found = {}
    for name, variable in SECRET_FILES.items():
        if env.get(variable):
            found[name] = env[variable]
        elif (var_dir / name).exists():
            found[name] = (var_dir / name).read_text()
    return found


def create_backup(
    url: str,
    root: Path = DEFAULT_BACKUP_ROOT,
    var_dir: Path = VAR_DIR,
    now: Optional[datetime] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Path:
    """Back up the database at `url` and the servers' secrets (the environment's, else those
    in `var_dir`) into a new folder of `root`."""
    kind = database_kind(url)
    created = now or datetime.now(timezone.utc)
    folder = _new_folder(root, created)
    try:
        tables = _BACKUP[kind](url, folder)
        secrets = private_dir(folder / SECRETS_FOLDER)
        for name, value in servers_secrets(var_dir, os.environ if env is None else env).items():
            write_private(secrets / name, value)
        make_private(folder.rglob("*"))
        hashes = {name: sha256_of(folder / name) for name in _files_of(folder)}
        manifest = build_manifest(created, kind, schema_for(url), tables, hashes)
        write_private(folder / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # never leave a half backup that looks whole
        raise
    return folder


def secrets_overridden(folder: Path, env: Mapping[str, str]) -> List[Tuple[str, Path]]:
    """The backup's secrets that the environment sets otherwise: the servers would use the
    environment's, so its file (e.g. /etc/clinic-assistant/env) must take the backup's.
    (variable, the backup's file holding the value)."""
    return [
        (variable, folder / SECRETS_FOLDER / name)
        for name, variable in SECRET_FILES.items()
        if env.get(variable)
        and (folder / SECRETS_FOLDER / name).exists()
        and (folder / SECRETS_FOLDER / name).read_text().strip() != env[variable].strip()
    ]


def read_manifest(folder: Path) -> Dict:
    try:
        return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a backup: it has no {MANIFEST_NAME}") from None
    except ValueError as problem:
        raise BackupError(f"{folder / MANIFEST_NAME} is not valid JSON: {problem}") from None


def check_backup(folder: Path) -> Dict:
    """The manifest of `folder`, once every file it names has the hash it records."""
    manifest = read_manifest(folder)
    found = {
        name: sha256_of(folder / name) if (folder / name).is_file() else None
        for name in manifest.get("files", {})
    }
    problems = manifest_problems(manifest, found)
    if problems:
        raise BackupError(
            f"{folder} does not match its manifest, nothing restored:\n  " + "\n  ".join(problems)
        )
    return manifest


def restore_backup(
    folder: Path, url: str, var_dir: Path = VAR_DIR, force: bool = False
) -> Dict[str, int]:
    """Restore `folder` into the database at `url` and the secrets into `var_dir`; return the
    row counts now in the database. Refuses a changed backup, and unless `force`, a database
    that holds rows or secrets that differ from the backup's."""
    manifest = check_backup(folder)
    kind = database_kind(url)
    if manifest["database"]["kind"] != kind:
        raise BackupError(
            f"{folder} holds a {manifest['database']['kind']} database; TRACKER_STORE_URL is {kind}"
        )
    if manifest["database"]["schema"] != schema_for(url):
        raise BackupError(
            f"{folder} holds the schema {manifest['database']['schema']!r}; "
            f"POSTGRESQL_SCHEMA is {schema_for(url)!r}"
        )
    if not force:
        held = {table: rows for table, rows in _ROWS[kind](url).items() if rows}
        if held:
            raise BackupError(
                "the target database is not empty ("
                + ", ".join(f"{t}: {n} rows" for t, n in sorted(held.items()))
                + "); restoring would replace it: use FORCE=1 (--force) to do so"
            )
        differ = [
            name
            for name in SECRET_FILES
            if (folder / SECRETS_FOLDER / name).exists()
            and (var_dir / name).exists()
            and (var_dir / name).read_text() != (folder / SECRETS_FOLDER / name).read_text()
        ]
        if differ:
            raise BackupError(
                f"{', '.join(differ)} in {var_dir} differ from the backup's; "
                "replacing them ends the open conversations of this "
                "installation: use FORCE=1 (--force) to do so"
            )
    restored = _RESTORE[kind](folder, url)
    private_dir(var_dir)
    for name in SECRET_FILES:
        if (folder / SECRETS_FOLDER / name).exists():
            write_private(var_dir / name, (folder / SECRETS_FOLDER / name).read_text())
    expected = manifest["database"]["tables"]
    if {t: restored.get(t) for t in expected} != expected:
        raise BackupError(f"restored row counts {restored} differ from the manifest's {expected}")
    return restored


def prune_backups(root: Path, retention_days: float, now: Optional[datetime] = None) -> List[Path]:
    """Delete the backups in `root` older than `retention_days`; only folders with a
    manifest are backups, anything else there is left alone."""
    if not root.is_dir():
        return []
    created = {}
    for folder in root.iterdir():
        try:
            created[folder.name] = created_at(read_manifest(folder))
        except (BackupError, KeyError, ValueError, NotADirectoryError):
            continue
    gone = [
        root / name for name in expired(created, now or datetime.now(timezone.utc), retention_days)
    ]
    for folder in gone:
        shutil.rmtree(folder)
    return gone


def clinic_retention_days() -> int:
    """How long conversations are kept (knowledge/clinic_config.yml), so backups too."""
    from clinic.clinic_config import load_clinic_config

    return int(load_clinic_config().retention_days)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="back up the database and the secrets")
    create.add_argument("--dir", type=Path, default=DEFAULT_BACKUP_ROOT)
    create.add_argument("--var-dir", type=Path, default=VAR_DIR)
    restore = commands.add_parser("restore", help="restore a backup folder")
    restore.add_argument("folder", type=Path)
    restore.add_argument("--var-dir", type=Path, default=VAR_DIR)
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace a database that holds rows, and differing secrets",
    )
    prune = commands.add_parser("prune", help="delete backups older than the retention period")
    prune.add_argument("--dir", type=Path, default=DEFAULT_BACKUP_ROOT)
    prune.add_argument(
        "--days",
        type=float,
        default=None,
        help="default: retention_days of knowledge/clinic_config.yml",
    )
    args = parser.parse_args()
    try:
        if args.command == "create":
            folder = create_backup(tracker_store_url(), args.dir, args.var_dir)
            manifest = read_manifest(folder)
            rows = ", ".join(f"{t}: {n}" for t, n in manifest["database"]["tables"].items())
            print(
                f"Backed up the {manifest['database']['kind']} database ({rows}) and "
                f"the secrets to {folder}"
            )
        elif args.command == "restore":
            rows = restore_backup(args.folder, tracker_store_url(), args.var_dir, args.force)
            print(
                f"Restored {args.folder} ({', '.join(f'{t}: {n}' for t, n in rows.items())}) "
                f"and the secrets into {args.var_dir}"
            )
            # Never the values themselves: this output may go to a log.
            for variable, held in secrets_overridden(args.folder, os.environ):
                print(
                    f"Note: {variable} is set in the environment to another value, which the "
                    f"servers would use: set {variable} in the env file (e.g. "
                    f"/etc/clinic-assistant/env) to the contents of {held}, then restart them."
                )
        else:
            days = args.days if args.days is not None else clinic_retention_days()
            if days <= 0:
                sys.exit("--days must be more than 0.")
            gone = prune_backups(args.dir, days)
            print(f"Deleted {len(gone)} backup(s) older than {days:g} days from {args.dir}.")
    except BackupError as error:
        sys.exit(f"{args.command}: {error}")


if __name__ == "__main__":
    main()
