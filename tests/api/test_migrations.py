"""The migrations build exactly the schema the models declare, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from selflink_api.domains import DOMAINS
from selflink_api.platform.database import (
    ALEMBIC_VERSION_TABLE,
    compare_column_types,
    include_modelled,
    load_models,
    migration_only_names,
)
from selflink_api.settings import Settings

pytestmark = pytest.mark.anyio


def schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": compare_column_types,
            "include_object": include_modelled(DOMAINS),
            "version_table": ALEMBIC_VERSION_TABLE,
        },
    )
    return list(compare_metadata(context, load_models(DOMAINS)))


async def test_migrated_database_matches_the_models(settings: Settings) -> None:
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(schema_differences)
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert differences == []
    modelled = tables - migration_only_names(DOMAINS)
    assert set(load_models(DOMAINS).tables) | {ALEMBIC_VERSION_TABLE} == modelled
