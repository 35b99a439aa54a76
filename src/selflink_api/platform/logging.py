"""Structured logs: JSON lines with a request id, never bodies, credentials or personal data."""

import logging
import sys
import traceback
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog
from litestar.logging.config import LoggingConfig, StructLoggingConfig
from litestar.plugins.structlog import StructlogConfig
from structlog.typing import EventDict, Processor, WrappedLogger

from selflink_api.settings import Settings

REDACTED = "[redacted]"
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "cookie",
        "set-cookie",
        "password",
        "new_password",
        "current_password",
        "token",
        "access_token",
        "refresh_token",
        "secret",
        "secret_key",
        "email",
        "phone",
        "full_name",
        "birth_date",
        "birth_time",
        "body",
        "request_body",
        "response_body",
    }
)


def redact_sensitive(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Last line of defence: whatever a caller passes under a sensitive key is not written."""
    for key in event.keys() & SENSITIVE_KEYS:
        event[key] = REDACTED
    return event


DATABASE_ERROR_PACKAGES = frozenset(
    {"asyncpg", "aiosqlite", "sqlite3", "psycopg", "sqlalchemy", "advanced_alchemy"}
)
SAFE_DATABASE_ERROR_FIELDS = (
    "sqlstate",
    "sqlite_errorname",
    "constraint_name",
    "table_name",
    "column_name",
    "data_type_name",
)
"""What a database error may say in the logs: its code and the schema names it concerns."""


def scrub_database_errors(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Log a database error's traceback without its messages, which quote query values.

    `hide_parameters` keeps values out of SQLAlchemy's own text, but the driver's message does
    not: asyncpg writes `Key (email)=(...) already exists` or `invalid input for query argument
    $1: '...'`. When an exception's chain holds a database error, every message in the chain is
    replaced by the exception's kind, SQLSTATE and constraint, table or column name.
    """
    error = _exception_of(event.get("exc_info"))
    if error is None or not any(_is_database_error(item) for item in _chain(error)):
        return event
    del event["exc_info"]
    event["exception"] = _scrubbed_traceback(error)
    return event


def _exception_of(exc_info: Any) -> BaseException | None:
    if exc_info is True:
        return sys.exc_info()[1]
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    return None


def _chain(error: BaseException) -> list[BaseException]:
    """The exception and its causes and contexts, outermost first, as Python prints them."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def _is_database_error(error: BaseException) -> bool:
    return type(error).__module__.split(".", 1)[0] in DATABASE_ERROR_PACKAGES


def _scrubbed_traceback(error: BaseException) -> str:
    parts = []
    for item in reversed(_chain(error)):
        kind = f"{type(item).__module__}.{type(item).__qualname__}"
        facts = [
            f"{name}={value}"
            for name in SAFE_DATABASE_ERROR_FIELDS
            if isinstance(value := getattr(item, name, None), str) and value
        ]
        frames = "".join(traceback.format_tb(item.__traceback__))
        described = f"{kind} ({', '.join(facts)})" if facts else kind
        parts.append(
            f"Traceback (most recent call last):\n{frames}{described}: [message withheld]\n"
        )
    return "\nWhich led to:\n\n".join(parts)


def logs_as_json(settings: Settings) -> bool:
    """JSON for files and pipes, which machines read; a console where a person reads the logs.

    `LOG_JSON` decides when set; otherwise the logs are JSON unless they go to a terminal.
    """
    if settings.log_json is not None:
        return settings.log_json
    return bool(settings.log_file) or not sys.stdout.isatty()


def _processors(settings: Settings) -> list[Processor]:
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if logs_as_json(settings)
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
        scrub_database_errors,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        renderer,
    ]


class NoQueryStrings(logging.Filter):
    """Cuts the query string out of uvicorn's WebSocket lines (`"WebSocket /path?…"`): a URL
    can carry a token, which must never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and "WebSocket" in str(record.msg):
            record.args = tuple(
                arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def build_structlog_config(settings: Settings) -> StructlogConfig:
    """Configuration for Litestar's structlog plugin; its body-logging middleware stays off."""
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    handler: dict[str, Any] = (
        {"class": "logging.FileHandler", "filename": settings.log_file, "formatter": "standard"}
        if settings.log_file
        else {"class": "logging.StreamHandler", "formatter": "standard"}
    )
    standard_logging = LoggingConfig(
        root={"level": logging.getLevelName(level), "handlers": ["default"]},
        handlers={"default": handler},
        formatters={
            "standard": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *_processors(settings),
                ],
                "foreign_pre_chain": [
                    structlog.stdlib.add_logger_name,
                    structlog.stdlib.ExtraAdder(),
                ],
            }
        },
        filters={"no_query_strings": {"()": NoQueryStrings}},
        loggers={
            "uvicorn.error": {"filters": ["no_query_strings"], "propagate": True},
            "sqlalchemy.engine": {"level": "WARNING", "propagate": True},
            "uvicorn.access": {"level": "WARNING", "propagate": False},
            "httpx": {"level": "WARNING", "propagate": True},
        },
        log_exceptions="never",
    )
    return StructlogConfig(
        structlog_logging_config=StructLoggingConfig(
            processors=_processors(settings),
            wrapper_class=structlog.make_filtering_bound_logger(level),
            logger_factory=structlog.WriteLoggerFactory(
                file=Path(settings.log_file).open("a", encoding="utf-8")
                if settings.log_file
                else None
            ),
            standard_lib_logging_config=standard_logging,
            log_exceptions="never",
            pretty_print_tty=False,
        ),
        enable_middleware_logging=False,
    )


def bind_request_context(**values: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**values)


def clear_request_context(_state: MutableMapping[str, Any] | None = None) -> None:
    structlog.contextvars.clear_contextvars()
