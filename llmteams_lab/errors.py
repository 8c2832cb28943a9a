"""The exception tree of llmteams_lab (level 0 of the import ladder: stdlib only).

Why a tree of our own: callers catch *our* errors whatever backend produced them.
Third-party exceptions (the ``openai`` SDK, polars, the network) are translated at
the boundary where they occur, so nothing above ``backends/`` ever sees a foreign
type. Every class also subclasses the matching builtin (``SpecError`` is a
``ValueError``, lifecycle errors are ``RuntimeError`` ...), so generic handlers
keep working.
"""

from __future__ import annotations

import math
import reprlib

__all__ = [
    "ArgumentError",
    "AuthenticationError",
    "BackendError",
    "BackendTimeoutError",
    "BudgetExceededError",
    "CallCancelledError",
    "ConnectionFailedError",
    "DatasetError",
    "EndpointUnreachableError",
    "ExecutorError",
    "ExportError",
    "LifecycleError",
    "LlmTeamsError",
    "MalformedOutputError",
    "MissingExtraError",
    "PlotRenderError",
    "RateLimitedError",
    "RunClosedError",
    "RunFailedError",
    "RunFinishedError",
    "ServerError",
    "ServiceError",
    "SpecError",
    "StepInProgressError",
    "SyncBridgeError",
    "TraceEndedError",
    "UsageAboveBoundError",
    "backend_error_class",
    "short_repr",
]

# How much of a bad value, a path or an expectation a message may quote: a 1 MB string
# or a 5,000-digit integer in a spec must give a short message, not a 1 MB one.
MAX_QUOTED = 200


class _BoundedRepr(reprlib.Repr):
    """``reprlib`` with room for ordinary values, a depth limit for nested ones (so a
    deeply nested value cannot recurse), and huge integers described by their size
    (``repr`` refuses integers over 4,300 digits)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 4
        self.maxstring = self.maxother = 160
        self.maxlong = 60
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 12

    def repr_int(self, x: int, level: int) -> str:
        bits = abs(x).bit_length()
        if bits > 640:  # ~190 digits: describe it instead of converting it
            return f"<an integer of about {int(bits * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_REPR = _BoundedRepr()


def short_repr(value: object, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` cut to at most ``limit`` characters, safe for any value: deep
    nesting, huge integers and objects whose ``repr`` fails give a short description."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    return clip(text, limit)


def clip(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` cut to at most ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LlmTeamsError(Exception):
    """Root of every error this library raises on purpose."""


class SpecError(LlmTeamsError, ValueError):
    """An invalid spec field. The message names the path, the expectation and the value.

    Example: ``'agents[2].competence' must be in [0, 1] (got 1.4)``. The path is kept
    on the instance (``err.path``) so a UI can highlight the offending control.

    Every part of the message is bounded (:data:`MAX_QUOTED` characters of the value,
    the path and the expectation): whatever the input, the message stays short and
    building it cannot fail or recurse.
    """

    def __init__(self, path: str, expected: str, got: object = None, *, show_got: bool = True):
        self.path = clip(str(path))
        self.expected = clip(str(expected), 2 * MAX_QUOTED)
        self.got = got
        self.show_got = show_got
        message = f"'{self.path}' {self.expected}"
        if show_got:
            message += f" (got {short_repr(got)})"
        super().__init__(message)


class ArgumentError(SpecError):
    """A function was given an argument it does not accept (not a spec field). Same
    message form as :class:`SpecError`: ``'k' must be an integer >= 1 (got 0)``."""


class LifecycleError(LlmTeamsError, RuntimeError):
    """A run was used in a state that does not allow the call."""


class RunFinishedError(LifecycleError):
    """``step()`` was called on a run that already ended (consensus, budget or stop)."""


class RunClosedError(LifecycleError):
    """The run was closed; its backends and sinks are released."""


class StepInProgressError(LifecycleError):
    """A second ``step()`` was started while one is still running."""


class RunFailedError(LifecycleError):
    """The run stopped on an error (failure policy ``stop``); events so far are kept."""


class EndpointUnreachableError(RunFailedError):
    """Every call of a round failed to connect (refused, DNS, TLS): the endpoint is down
    or misnamed, so the run stops with this error whatever the failure policy says for
    sporadic failures. Its events (one ``AgentFailed``, fault ``connection``, per call)
    are kept."""

    end_reason = "connection_failed"


class SyncBridgeError(LifecycleError):
    """``run_sync`` was called inside a running event loop (use ``await run.run()``)."""


class BudgetExceededError(LlmTeamsError, RuntimeError):
    """A round could not be started without exceeding a declared budget."""


class BackendError(LlmTeamsError, RuntimeError):
    """A backend failed to answer. ``kind`` is the short name recorded in events.

    ``latency_s`` is how long the failed call took on the run's clock. Virtual-time
    backends set it so a failure is as reproducible as a reply; when it is ``None`` the
    engine records the measured wall time (right for real endpoints).
    """

    kind = "backend_error"
    # the end reason when this failure stops the run after its round, whatever the
    # failure policy (``None``: the policy decides); such failures are never retried
    stops_run: str | None = None

    def __init__(self, message: str, *, retry_after: float | None = None, latency_s: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.latency_s = latency_s


class BackendTimeoutError(BackendError, TimeoutError):
    """The backend did not answer within the per-call timeout."""

    kind = "timeout"


class RateLimitedError(BackendError):
    """HTTP 429: the server asked us to slow down (``retry_after`` seconds if given)."""

    kind = "rate_limited"


class ServerError(BackendError):
    """HTTP 5xx or a dropped connection: the server failed, the request may be retried."""

    kind = "server_error"


class AuthenticationError(BackendError, PermissionError):
    """HTTP 401/403: the key was refused. Never retried; the key is never in the message."""

    kind = "auth"
    stops_run = "auth_failed"


class ConnectionFailedError(BackendError, ConnectionError):
    """No connection to the endpoint: refused (nothing listening), a DNS lookup that
    failed, a TLS handshake that failed. Retried like a server error; a round in which
    every call fails this way stops the run (:class:`EndpointUnreachableError`)."""

    kind = "connection"


class UsageAboveBoundError(BackendError):
    """The server reported more tokens for a call than the call can use (its prompt's
    UTF-8 bytes plus chat framing, its ``max_tokens``): a budget can no longer be kept,
    so the run stops before its next call. The reported usage is kept on the error
    (``tokens_in``, ``tokens_out``, ``cost_usd``) and counted."""

    kind = "usage_above_bound"
    stops_run = "usage_above_bound"


class CallCancelledError(BackendError):
    """A call cancelled by the run, not failed by the backend: in flight at the
    wall-time budget's deadline, or not started because the run is stopping. Never
    retried; the failure policy does not apply to it."""

    kind = "cancelled"


class MalformedOutputError(BackendError):
    """The backend answered, but the reply could not be parsed (or was empty)."""

    kind = "malformed"


def backend_error_class(kind: str) -> type[BackendError]:
    """The :class:`BackendError` subclass recorded as ``kind`` (e.g. ``"rate_limited"``), so a
    replayed ``AgentFailed`` event raises the same type as the original failure."""
    for cls in (BackendTimeoutError, RateLimitedError, ServerError, AuthenticationError, MalformedOutputError,
                ConnectionFailedError, UsageAboveBoundError, CallCancelledError):
        if cls.kind == kind:
            return cls
    return BackendError


class DatasetError(LlmTeamsError, ValueError):
    """A trace or dataset file is missing or has unexpected columns (named in the message)."""


class TraceEndedError(LlmTeamsError, LookupError):
    """A replay was asked for a round past the end of its recorded trace."""


class ServiceError(LlmTeamsError, RuntimeError):
    """``serve`` or ``proxy`` could not start, or was used in a way it does not allow."""


class ExecutorError(LlmTeamsError, RuntimeError):
    """A sweep's executor failed: a worker process died, or a Ray cluster could not be
    reached. The runs already written to the sweep's directory are kept."""


class PlotRenderError(LlmTeamsError, RuntimeError):
    """A plot of the lab could not be drawn in the browser (the view's own message)."""


class MissingExtraError(LlmTeamsError, ImportError):
    """A feature needs an optional extra that is not installed; the message names the
    ``pip install 'llmteams-lab[extra]'`` that brings it."""


class ExportError(LlmTeamsError, OSError):
    """Events could not be written to an export's destination (an OTLP endpoint, a file);
    the message names the destination and what it answered."""
