"""Alembic environment (advanced-alchemy's async template, with its own short-lived engine).

Migrations always open a fresh NullPool engine from the URL rather than borrowing the app's
pool, so running them from a worker thread at start-up never shares connections across loops.
"""

import asyncio
from typing import TYPE_CHECKING, cast

from alembic import context
from alembic.autogenerate import rewriter
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import async_engine_from_config

from selflink_api.domains import DOMAINS
from selflink_api.platform.database import compare_column_types, include_modelled, load_models

if TYPE_CHECKING:
    from advanced_alchemy.alembic.commands import AlembicCommandConfig
    from sqlalchemy.engine import Connection

config = cast("AlembicCommandConfig", context.config)
writer = rewriter.Rewriter()
target_metadata = load_models(DOMAINS)


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=compare_column_types,
        include_object=include_modelled(DOMAINS),
        version_table=config.version_table_name,
        version_table_schema=config.version_table_schema,
        version_table_pk=config.version_table_pk,
        user_module_prefix=config.user_module_prefix,
        render_as_batch=config.render_as_batch,
        process_revision_directives=writer,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=config.db_url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: "Connection") -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = async_engine_from_config(
        {"sqlalchemy.url": config.db_url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
