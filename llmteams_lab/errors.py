"""The exception tree of llmteams_lab (level 0 of the import ladder: stdlib only).

Why a tree of our own: callers catch *our* errors whatever backend produced them.
Third-party exceptions (the ``openai`` SDK, polars, the network) are translated at
the boundary where they occur, so nothing above ``backends/`` ever sees a foreign
type. Every class also subclasses the matching builtin (``SpecError`` is a
``ValueError``, lifecycle errors are ``RuntimeError`` ...), so generic handlers
keep working.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "AuthenticationError",
    "BackendError",
    "BackendTimeoutError",
    "BudgetExceededError",
    "DatasetError",
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
    "backend_error_class",
]


class LlmTeamsError(Exception):
    """Root of every error this library raises on purpose."""


class SpecError(LlmTeamsError, ValueError):
    """An invalid spec field. The message names the path, the expectation and the value.

    Example: ``'agents[2].competence' must be in [0, 1] (got 1.4)``. The path is kept
    on the instance (``err.path``) so a UI can highlight the offending control.
    """

    def __init__(self, path: str, expected: str, got: object = None, *, show_got: bool = True):
        self.path = path
        self.expected = expected
        self.got = got
        message = f"'{path}' {expected}"
        if show_got:
            message += f" (got {got!r})"
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


class MalformedOutputError(BackendError):
    """The backend answered, but the reply could not be parsed (or was empty)."""

    kind = "malformed"


def backend_error_class(kind: str) -> type[BackendError]:
    """The :class:`BackendError` subclass recorded as ``kind`` (e.g. ``"rate_limited"``), so a
    replayed ``AgentFailed`` event raises the same type as the original failure."""
    for cls in (BackendTimeoutError, RateLimitedError, ServerError, AuthenticationError, MalformedOutputError):
        if cls.kind == kind:
            return cls
    return BackendError


class DatasetError(LlmTeamsError, ValueError):
    """A trace or dataset file is missing or has unexpected columns (named in the message)."""


class TraceEndedError(LlmTeamsError, LookupError):
    """A replay was asked for a round past the end of its recorded trace."""


class ServiceError(LlmTeamsError, RuntimeError):
    """``serve`` or ``proxy`` could not start, or was used in a way it does not allow."""


class PlotRenderError(LlmTeamsError, RuntimeError):
    """A plot of the lab could not be drawn in the browser (the view's own message)."""


class MissingExtraError(LlmTeamsError, ImportError):
    """A feature needs an optional extra that is not installed; the message names the
    ``pip install 'llmteams-lab[extra]'`` that brings it."""


class ExportError(LlmTeamsError, OSError):
    """Events could not be written to an export's destination (an OTLP endpoint, a file);
    the message names the destination and what it answered."""
