"""`coordinator backup` and `coordinator restore BACKUP`, the command line of backup and restore."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coordinator.database import database_url
from coordinator.service.backup import BackupRefused, back_up
from coordinator.service.pg_tools import ToolFailed, ToolNotFound
from coordinator.service.restore import restore
from coordinator.settings import Settings


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `backup [--output-dir DIR]` and `restore BACKUP`."""
    backup = commands.add_parser("backup", help="back up the database and the key files")
    backup.add_argument(
        "--output-dir", type=Path, help="where the backup folder is made (default DATA_DIR/backups)"
    )
    restore_parser = commands.add_parser(
        "restore", help="restore a backup into a new, empty database and new key folders"
    )
    restore_parser.add_argument("backup", type=Path, help="a folder made by `coordinator backup`")


def run(settings: Settings, arguments: argparse.Namespace) -> int:
    """Run `backup` or `restore`; 1 with a sentence on stderr when it is refused or fails."""
    try:
        with database_url(settings) as url:
            if arguments.command == "backup":
                output = arguments.output_dir or Path(settings.data_dir) / "backups"
                folder = back_up(settings, url, output)
                sys.stdout.write("backup written; copy the whole folder somewhere safe, offline:\n")
                sys.stdout.write(f"{folder}\n")
                return 0
            restored = restore(settings, url, arguments.backup)
    except (BackupRefused, ToolNotFound, ToolFailed) as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    sys.stdout.write(f"restored {restored.events} events\n")
    if restored.new_epoch:
        sys.stdout.write(
            f"this server's transaction ids were behind the backup's: opened log epoch "
            f"{restored.epoch_after}, so new events sort after the restored ones\n"
        )
    for section, folder in restored.key_folders.items():
        sys.stdout.write(f"key files of {section} restored to {folder}\n")
    return 0
