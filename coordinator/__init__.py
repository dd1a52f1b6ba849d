"""Homeward's service: the rescue-operation rules, the HTTP API, settings and the command line."""
