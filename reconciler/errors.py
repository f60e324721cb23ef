"""The exception tree and the Problem record.

Every error a user can cause (bad YAML, a rejected credential, a throttled API) is a
``ReconcilerError``; the CLI prints its message on one line and exits 1. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.escapes import escape_controls
from reconciler.secrets import redact


@dataclass(frozen=True)
class Problem:
    """One finding about the config or the plan: where, what, how to fix."""

    message: str
    path: str = ""
    line: int = 0
    col: int = 0
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.path
        if where and self.line:
            where = f"{where}:{self.line}:{self.col or 1}"
        text = f"{where}: {self.message}" if where else self.message
        return escape_controls(redact(text))  # one line; a quoted key may hold ESC or U+202E


class ReconcilerError(Exception):
    """Root of every error the CLI reports without a traceback."""

    def __str__(self) -> str:
        return redact(super().__str__())


class ConfigError(ReconcilerError):
    """The config repository is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProviderError(ReconcilerError):
    """A provider API call failed (after any retries).

    ``maybe_committed`` is true when a non-idempotent request may have been applied although its
    answer was lost (the applier reads the live state back before trying again). What a failed
    multi-step change did make travels the one way every progress does: the provider reports it
    with ``ApplyContext.checkpoint`` before raising (docs/providers/contract.md).
    """

    def __init__(self, message: str = "", *, maybe_committed: bool = False) -> None:
        super().__init__(message)
        self.maybe_committed = maybe_committed


class Unauthorized(ProviderError):
    """The provider rejected the credentials."""


class NotFound(ProviderError):
    """The provider does not know the addressed object."""


class RateLimited(ProviderError):
    """The provider kept throttling after the retry budget was spent."""


class TransportError(ProviderError):
    """The request did not get a usable answer (timeout, dropped connection, 5xx)."""


class UnsupportedFeature(ProviderError):
    """The provider cannot do what the plan asks (no handler for the type and action)."""


class UnsafePlan(ReconcilerError):
    """The plan touches more than the safety limits allow, or holds unsupported changes."""


class StalePlan(ReconcilerError):
    """A saved plan no longer matches the config or the live state."""


class StateError(ReconcilerError):
    """The state file is unreadable, locked by someone else, or inconsistent."""
