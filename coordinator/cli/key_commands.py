"""`coordinator keys rotate`: a new key-encryption key for personal data, and every data key
re-wrapped with it. Events are not touched (they hold data sealed by the data keys)."""

from __future__ import annotations

import argparse

from coordinator.service.privacy.data_keys import DataKeys
from coordinator.service.privacy.kek import add_kek, load_keks
from coordinator.settings import Settings, personal_key_folder
from events.store.migrate import migrated_pool


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `keys rotate`."""
    keys = commands.add_parser("keys", help="personal-data key management")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    actions.add_parser("rotate", help="new key-encryption key; re-wrap every data key with it")


async def run(url: str, settings: Settings) -> int:
    """Rotate the KEK and re-wrap every live data key."""
    folder = personal_key_folder(settings)
    kek_id = add_kek(folder)
    pool = await migrated_pool(url, max_size=2)
    try:
        rewrapped = await DataKeys(pool, load_keks(folder)).rewrap()
    finally:
        await pool.close()
    print(f"active key-encryption key: {kek_id}; data keys re-wrapped: {rewrapped}")
    print(f"older kek-*.key files in {folder} wrap nothing now and may be removed")
    return 0
