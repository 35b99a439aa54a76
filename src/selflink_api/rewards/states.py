"""States named on the command line as well as in tables, kept apart from the models so that
`selflink-api rewards --help` need not load SQLAlchemy to list them."""

from enum import StrEnum


class PayoutState(StrEnum):
    PENDING = "pending"
    HELD = "held"
    PROCESSING = "processing"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
