"""Survivors' personal data: sealed with a key per data subject before it reaches the database.

`personal` objects in an event's data are replaced by a sealed form (AES-256-GCM under the
subject's data key); data keys are stored only wrapped by the key-encryption key (KEK), which is
kept outside the database. Reads open them only for roles that may see personal data; erasing a
survivor destroys their data key, and from then on every read shows their personal data as erased.
"""
