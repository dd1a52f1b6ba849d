"""The service's errors, named for what went wrong; one middleware maps them to HTTP answers."""

from __future__ import annotations


class CoordinatorError(Exception):
    """Base of the errors the service answers with a status and a sentence."""

    status = 500
    code = "internal_error"


class BadRequest(CoordinatorError):
    """The request is not readable JSON or lacks what every request needs."""

    status = 400
    code = "bad_request"


class Unauthorized(CoordinatorError):
    """No valid token came with the request."""

    status = 401
    code = "unauthorized"


class Forbidden(CoordinatorError):
    """The caller's role may not do this."""

    status = 403
    code = "forbidden"


class NotFound(CoordinatorError):
    """The operation, survivor or page does not exist."""

    status = 404
    code = "not_found"


class RuleBroken(CoordinatorError):
    """The command breaks a rule of the rescue operation; the message names the rule."""

    status = 422
    code = "rule_broken"


class InvalidInput(CoordinatorError):
    """The body is JSON but does not match the contract's payloads."""

    status = 422
    code = "validation_error"


class RecordTampered(CoordinatorError):
    """The stored record no longer verifies: it was changed outside the service."""

    status = 409
    code = "record_tampered"


class AuditLogBehind(CoordinatorError):
    """The Merkle log has not yet covered what was asked for; retry shortly."""

    status = 503
    code = "audit_log_behind"


class RateLimited(CoordinatorError):
    """The token made more writes than its allowance; `retry_after` says when to try again."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SigningKeyUnknown(CoordinatorError):
    """This process's keyring lacks the key that signed the log: replicas must share the keys."""

    status = 503
    code = "signing_key_unknown"


class StartupRefused(Exception):
    """The service cannot start as configured; the message says which key is missing and where."""
