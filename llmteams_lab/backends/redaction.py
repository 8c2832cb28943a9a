"""Keeping the API key out of everything recorded: texts from a server, and log records.

Two places a key can leak although this library never writes it:

* **what a server sends back** — a hostile or broken server may echo the
  ``Authorization`` header in an error body, a reply's text or a header. :func:`scrub`
  replaces the key in any such text; the ``openai`` backend applies it to every reply
  text and error message before they can reach an event, a retry record or a log;
* **log records of the libraries underneath** — with DEBUG logging, the HTTP transport
  logs response headers (``httpcore``: ``receive_response_headers.complete ...``), so an
  echoed key lands in the application's log. :class:`LogRedaction` adds a
  :class:`KeyFilter` to the loggers of the SDK and its transports while a backend's
  client is open, and removes it when the backend closes.

Why logger filters attached per client, rather than a handler filter or a record
factory: importing this library must change nothing process-wide, and a handler filter
would mean reaching into the application's logging setup; a logger filter scoped to
the ``openai``/``httpx``/``httpcore``/``aiohttp`` loggers acts only on their records,
exists only while a client that holds the key exists, and leaves no trace after
``aclose()``. (Logger filters do not see records propagated from child loggers, so the
filter goes on every existing logger of those namespaces — the SDK creates them all
when it is imported, before any client exists.)
"""

from __future__ import annotations

import logging

__all__ = ["KeyFilter", "LogRedaction", "REDACTED", "scrub"]

REDACTED = "[redacted]"
NAMESPACES = ("openai", "httpx", "httpcore", "httpx2", "httpcore2", "httpx_aiohttp", "aiohttp")


def scrub(text: str, key: str | None) -> str:
    """``text`` with the key replaced (a hostile server may echo our Authorization header)."""
    if key and len(key) >= 6:
        text = text.replace(key, REDACTED)
    return text


class KeyFilter(logging.Filter):
    """Rewrites a record whose message, arguments, exception or stack text holds the key."""

    def __init__(self, key: str):
        super().__init__()
        self._key = key

    def filter(self, record: logging.LogRecord) -> bool:
        key = self._key
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is left to logging
            message = str(record.msg)
        if key in message:
            record.msg, record.args = message.replace(key, REDACTED), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and key in record.exc_text:
            record.exc_text = record.exc_text.replace(key, REDACTED)
        if record.stack_info and key in record.stack_info:
            record.stack_info = record.stack_info.replace(key, REDACTED)
        return True


class LogRedaction:
    """A :class:`KeyFilter` on the SDK's and transports' loggers until :meth:`close`."""

    def __init__(self, key: str | None):
        self._filter = KeyFilter(key) if key and len(key) >= 6 else None
        self._loggers: list[logging.Logger] = []
        if self._filter is None:
            return
        names = set(NAMESPACES) | {name for name in logging.root.manager.loggerDict
                                   if name.split(".")[0] in NAMESPACES}
        for name in sorted(names):
            logger = logging.getLogger(name)
            logger.addFilter(self._filter)
            self._loggers.append(logger)

    def close(self) -> None:
        """Remove the filter from every logger it was added to (safe to call twice)."""
        for logger in self._loggers:
            logger.removeFilter(self._filter)
        self._loggers = []
