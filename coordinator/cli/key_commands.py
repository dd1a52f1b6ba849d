"""`coordinator keys rotate`: a new key-encryption key for personal data, and every data key
re-wrapped with it. Events are not touched (they hold data sealed by the data keys).

With `--retire`, the old KEKs are then destroyed and the key table compacted: every copy of an
erased data key (in old table pages, the WAL, older backups) was wrapped by a KEK that no longer
exists, so the erasure is final everywhere. Run it after erasures (a timer, see the README).
"""

from __future__ import annotations

import argparse

from coordinator.service.privacy.data_keys import DataKeys
from coordinator.service.privacy.kek import add_kek, destroy_keks, load_keks
from coordinator.settings import Settings, personal_key_folder
from events.store.migrate import migrated_pool


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `keys rotate`."""
    keys = commands.add_parser("keys", help="personal-data key management")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    rotate = actions.add_parser(
        "rotate", help="new key-encryption key; re-wrap every data key with it"
    )
    rotate.add_argument(
        "--retire",
        action="store_true",
        help="then destroy the old KEK files and compact the key table: erasures become final "
        "in old pages, the WAL and backups",
    )


async def run(url: str, settings: Settings, *, retire: bool = False) -> int:
    """Rotate the KEK and re-wrap every live data key; with `retire`, destroy the old KEKs."""
    folder = personal_key_folder(settings)
    kek_id = add_kek(folder)
    pool = await migrated_pool(url, max_size=2)
    try:
        keys = DataKeys(pool, load_keks(folder))
        rewrapped = await keys.rewrap()
        print(f"active key-encryption key: {kek_id}; data keys re-wrapped: {rewrapped}")
        if not retire:
            print(f"older kek-*.key files in {folder} wrap nothing now and may be removed")
            return 0
        still_used = await keys.kek_ids_in_use() - {kek_id}
        if still_used:  # pragma: no cover - a replica wrapped a key meanwhile: run it again
            print(f"error: KEKs {', '.join(sorted(still_used))} still wrap data keys; run again")
            return 1
        await keys.compact()
    finally:
        await pool.close()
    old = sorted(set(load_keks(folder).keys) - {kek_id})
    removed = destroy_keks(folder, old)
    print(f"destroyed {len(removed)} older key-encryption key(s): {', '.join(removed) or '-'}")
    print("key table compacted; erased keys are now unreadable in old pages, WAL and backups")
    print("replace the key folder in every backup and replica with this one")
    return 0
