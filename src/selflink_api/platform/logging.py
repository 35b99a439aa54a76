"""Structured logs: JSON lines with a request id, never bodies, credentials or personal data."""

import logging
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


def _processors(settings: Settings) -> list[Processor]:
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if settings.logs_as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        renderer,
    ]


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
        loggers={
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
