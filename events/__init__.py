"""Homeward's event log: event types, the PostgreSQL store, its live feed and the offline verifier.

This package imports nothing else of Homeward's. The verifier (`events.verifier`) is here, below
the store, because the store hashes every event with the verifier's own code: there is one
definition of the record's format, and a defence expert reads it in that one folder.
"""
