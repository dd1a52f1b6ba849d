"""`coordinator audit ...`: export a trail, verify bundles and checkpoints offline, rotate the key.

`verify` and `verify-consistency` run on a lawyer's laptop with no database and no network, so
this module and everything they touch import only the standard library, `cryptography` and the
integrity modules (`coordinator.cli.entry` routes them here before the service is imported). The
commands that need the database or the keys import those when they run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coordinator.settings import Settings

OFFLINE = frozenset({"verify", "verify-consistency", "verify-access-log"})
# Options of the whole command line that take a value (coordinator --data-dir X audit ...).
_GLOBAL_OPTIONS = frozenset({"--database-url", "--data-dir"})


# Exit codes of the offline commands, for scripts and for the record.
PROVEN, NOT_VERIFIED, UNUSABLE, NOT_PROVEN = 0, 1, 2, 3


def _add_offline(commands: Any) -> None:
    verify = commands.add_parser(
        "verify",
        help="check a bundle offline: exit 0 if it holds under keys you supplied, 1 if it does "
        "not (naming the event), 2 if the keys given are unusable, 3 if it holds but was "
        "checked only with keys it carries itself (nothing proven about who signed)",
    )
    verify.add_argument("file", type=Path, help="the bundle (JSON) exported by Homeward")
    _add_trust(verify)
    verify.add_argument(
        "--witness-keys",
        type=Path,
        help="witnesses' cosignature keys (C2SP vkeys, one a line), from the witnesses",
    )
    verify.add_argument(
        "--require-witnesses",
        type=int,
        default=0,
        metavar="N",
        help="fail unless N of the --witness-keys cosigned the bundle's checkpoint",
    )
    verify.add_argument(
        "--tsa-cert",
        type=Path,
        action="append",
        dest="tsa_certs",
        metavar="FILE",
        help="a time-stamping authority's certificate (PEM or DER), from the authority: the "
        "bundle's RFC 3161 timestamp must verify under it (may be given more than once)",
    )
    consistency = commands.add_parser(
        "verify-consistency",
        help="check offline that a newer checkpoint extends an older one (exit codes as verify)",
    )
    consistency.add_argument("old", type=Path, help="older checkpoint, bundle or proof document")
    consistency.add_argument("new", type=Path, help="newer consistency document (or checkpoint)")
    consistency.add_argument("--proof", type=Path, help="a separate consistency proof")
    _add_trust(consistency)
    access = commands.add_parser(
        "verify-access-log",
        help="check offline that an exported access log (GET /v1/audit/access-log?format=export) "
        "chains and that no entry its checkpoint anchored was removed or rewritten",
    )
    access.add_argument("file", type=Path, help="the exported access log (JSON)")
    _add_trust(access)


def _add_trust(command: Any) -> None:
    command.add_argument(
        "--keys",
        type=Path,
        help="public keys fetched from Homeward separately (GET /v1/audit/public-key)",
    )
    command.add_argument(
        "--key-id",
        action="append",
        dest="key_ids",
        metavar="ID",
        help="trust the file's key with this id (16 hex digits, as Homeward publishes it); "
        "may be given more than once",
    )


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


class _Unusable(Exception):
    """The keys the caller gave cannot be used: one sentence, exit 2."""


def _trusted_keys(arguments: argparse.Namespace) -> Any:
    """The keys file's keys (None without --keys), or _Unusable."""
    from events.verifier.strict_json import load_json  # noqa: PLC0415  see module doc
    from events.verifier.trust import KeysRefused, read_keys_file, trust  # noqa: PLC0415

    if arguments.keys is not None and arguments.key_ids:
        raise _Unusable("give --keys or --key-id, not both")
    try:
        trust(None, arguments.key_ids)
        if arguments.keys is None:
            return None
        return read_keys_file(load_json(arguments.keys.read_bytes()))
    except OSError as error:
        raise _Unusable(f"the keys file cannot be read: {error.strerror or error}") from None
    except (KeysRefused, ValueError) as error:
        raise _Unusable(f"the keys file is not a list of public keys: {error}") from None


def _witness_keys(arguments: argparse.Namespace) -> Any:
    """The witness keys file's keys (none without --witness-keys), or _Unusable."""
    from events.verifier.cosignature import read_witness_keys  # noqa: PLC0415  see module doc
    from events.verifier.signed_note import NoteRejected  # noqa: PLC0415  see module doc

    # A namespace built by hand (not by the parser) may lack them: no witness asked for.
    path = getattr(arguments, "witness_keys", None)
    required = getattr(arguments, "require_witnesses", 0)
    try:
        keys = [] if path is None else read_witness_keys(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise _Unusable(f"the witness keys file cannot be read: {error}") from None
    except NoteRejected as error:
        raise _Unusable(f"the witness keys file is not a list of vkeys: {error}") from None
    if not 0 <= required <= len(keys):
        raise _Unusable(f"{required} witnesses are required but {len(keys)} witness keys given")
    return keys


def _tsa_certificates(arguments: argparse.Namespace) -> Any:
    """The --tsa-cert certificates, each one that vouches for times, or _Unusable."""
    from events.verifier.timestamp_token import TokenRefused, read_certificate  # noqa: PLC0415

    certificates = []
    for path in getattr(arguments, "tsa_certs", None) or ():
        try:
            certificates.append(read_certificate(path.read_bytes()))
        except OSError as error:
            sentence = f"the TSA certificate {path} cannot be read: {error.strerror or error}"
            raise _Unusable(sentence) from None
        except TokenRefused as error:
            raise _Unusable(f"{path}: {error}") from None
    return certificates


def _read(path: Path) -> Any:
    from events.verifier.strict_json import load_json  # noqa: PLC0415  see module doc

    return load_json(path.read_bytes())


def run_offline(arguments: argparse.Namespace) -> int:
    """Verify a bundle or two checkpoints; print the finding; exit 0 only if it is proven under
    keys the caller supplied or pinned (see PROVEN, NOT_VERIFIED, UNUSABLE, NOT_PROVEN)."""
    from events.verifier.access_anchor import verify_access_log  # noqa: PLC0415  see module doc
    from events.verifier.bundle_checks import verify_bundle  # noqa: PLC0415  see module doc
    from events.verifier.consistency import verify_consistency_files  # noqa: PLC0415  see module doc

    try:
        keys = _trusted_keys(arguments)
        witnesses = _witness_keys(arguments) if arguments.audit_command == "verify" else []
        authorities = _tsa_certificates(arguments) if arguments.audit_command == "verify" else []
    except _Unusable as error:
        sys.stderr.write(f"NOT checked: {error}.\n")
        return UNUSABLE
    try:
        if arguments.audit_command == "verify":
            report: Any = verify_bundle(
                _read(arguments.file),
                trusted_keys=keys,
                pinned_key_ids=arguments.key_ids,
                witness_keys=witnesses,
                required_witnesses=getattr(arguments, "require_witnesses", 0),
                tsa_certificates=authorities,
            )
        elif arguments.audit_command == "verify-access-log":
            report = verify_access_log(
                _read(arguments.file), trusted_keys=keys, pinned_key_ids=arguments.key_ids
            )
        else:
            proof = _read(arguments.proof) if arguments.proof else None
            report = verify_consistency_files(
                _read(arguments.old),
                _read(arguments.new),
                proof,
                trusted_keys=keys,
                pinned_key_ids=arguments.key_ids,
            )
    except OSError as error:
        sys.stderr.write(f"NOT verified: the file cannot be read: {error.strerror or error}.\n")
        return NOT_VERIFIED
    except (ValueError, RecursionError) as error:
        sys.stderr.write(f"NOT verified, not_strict_json: the file is not strict JSON: {error}.\n")
        return NOT_VERIFIED
    sys.stdout.write(report.summary() + "\n")
    if not report.ok:
        return NOT_VERIFIED
    return PROVEN if report.proven else NOT_PROVEN


def run(settings: Settings, arguments: argparse.Namespace) -> int:
    """Run any `audit` subcommand; the database is opened only for an export."""
    if arguments.audit_command in OFFLINE:
        return run_offline(arguments)
    from coordinator.service.audit_export import export, rotate_key  # noqa: PLC0415  see module doc

    if arguments.audit_command == "rotate-key":
        return rotate_key(settings)
    return export(settings, arguments.operation_id, arguments.out, arguments.format)
