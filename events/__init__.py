"""Homeward's event log: event types, the PostgreSQL store and the integrity of the record.

This package imports nothing else of Homeward's, so that the offline verifier and the store can be
read, tested and trusted on their own.
"""
