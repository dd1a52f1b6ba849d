"""`coordinator audit ...`: export a trail, verify bundles and checkpoints offline, rotate the key.

`verify` and `verify-consistency` run on a lawyer's laptop with no database and no network, so
this module and everything they touch import only the standard library, `cryptography` and the
integrity modules (`coordinator.cli.entry` routes them here before the service is imported). The
commands that need the database or the keys import those when they run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coordinator.settings import Settings

OFFLINE = frozenset({"verify", "verify-consistency"})
# Options of the whole command line that take a value (coordinator --data-dir X audit ...).
_GLOBAL_OPTIONS = frozenset({"--database-url", "--data-dir"})


def _add_offline(commands: Any) -> None:
    verify = commands.add_parser(
        "verify", help="check a bundle offline: exit 0 if it holds, else 1 naming the event"
    )
    verify.add_argument("file", type=Path, help="the bundle (JSON) exported by Homeward")
    verify.add_argument("--keys", type=Path, help="public keys fetched from Homeward separately")
    consistency = commands.add_parser(
        "verify-consistency", help="check offline that a newer checkpoint extends an older one"
    )
    consistency.add_argument("old", type=Path, help="older checkpoint, bundle or proof document")
    consistency.add_argument("new", type=Path, help="newer consistency document (or checkpoint)")
    consistency.add_argument("--proof", type=Path, help="a separate consistency proof")
    consistency.add_argument("--keys", type=Path, help="public keys fetched from Homeward")


def add_arguments(commands: Any) -> None:
    """Register `audit` and its subcommands on the main parser's subcommands."""
    audit = commands.add_parser("audit", help="export, verify and sign the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_commands.add_parser("export", help="export an operation's prosecution bundle")
    export.add_argument("operation_id")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--format", choices=("json", "html"), default="json")
    audit_commands.add_parser(
        "rotate-key", help="sign from now on with a new key; older checkpoints stay verifiable"
    )
    _add_offline(audit_commands)


def offline_arguments(argv: Sequence[str]) -> argparse.Namespace | None:
    """The parsed arguments when `argv` is an offline audit command, else None."""
    rest = list(argv)
    while rest and rest[0].startswith("--") and rest[0].split("=")[0] in _GLOBAL_OPTIONS:
        rest = rest[1:] if "=" in rest[0] else rest[2:]
    if len(rest) < 2 or rest[0] != "audit" or rest[1] not in OFFLINE:
        return None
    parser = argparse.ArgumentParser(prog="coordinator audit")
    _add_offline(parser.add_subparsers(dest="audit_command", required=True))
    return parser.parse_args(rest[1:])


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as file:
        return json.load(file)


def _keys(path: Path | None) -> Any:
    if path is None:
        return None
    document = _load(path)
    # The answer of GET /v1/audit/public-key, or the bare mapping of key id to key record.
    return document["keys"] if isinstance(document, dict) and "keys" in document else document


def run_offline(arguments: argparse.Namespace) -> int:
    """Verify a bundle or two checkpoints; print the finding; 0 if everything holds, else 1."""
    from events.verifier.bundle_checks import read_bundle, verify_bundle  # noqa: PLC0415  see module doc
    from events.verifier.consistency import verify_consistency_files  # noqa: PLC0415  see module doc

    try:
        keys = _keys(arguments.keys)
        if arguments.audit_command == "verify":
            bundle = read_bundle(arguments.file.read_text(encoding="utf-8"))
            report = verify_bundle(bundle, trusted_keys=keys)
            sys.stdout.write(report.summary() + "\n")
            return 0 if report.ok else 1
        proof = _load(arguments.proof) if arguments.proof else None
        consistency = verify_consistency_files(
            _load(arguments.old), _load(arguments.new), proof, trusted_keys=keys
        )
    except (OSError, ValueError, RecursionError) as error:
        sys.stderr.write(f"NOT verified: the file cannot be read as JSON: {error}\n")
        return 1
    sys.stdout.write(consistency.summary() + "\n")
    return 0 if consistency.ok else 1


def run(settings: Settings, arguments: argparse.Namespace) -> int:
    """Run any `audit` subcommand; the database is opened only for an export."""
    if arguments.audit_command in OFFLINE:
        return run_offline(arguments)
    from coordinator.service.audit_export import export, rotate_key  # noqa: PLC0415  see module doc

    if arguments.audit_command == "rotate-key":
        return rotate_key(settings)
    return export(settings, arguments.operation_id, arguments.out, arguments.format)
