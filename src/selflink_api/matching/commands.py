"""`selflink-api matching refresh-features`: bring every stale person's features up to date
now (after a deploy that changes the rules or the layout), instead of at the next hourly run."""

import click

from selflink_api.platform.commands import OperatorGroup


@click.command(name="refresh-features")
def refresh_features() -> None:
    """Run the stale-features job in this process, in committed batches."""
    import anyio

    from selflink_api.matching.jobs import refresh_stale_features
    from selflink_api.platform.database import build_sqlalchemy_config
    from selflink_api.platform.jobs import InProcessJobRunner
    from selflink_api.settings import load_settings

    settings = load_settings()

    async def work() -> int:
        config = build_sqlalchemy_config(settings)
        try:
            runner = InProcessJobRunner(settings, config.create_session_maker())
            people: int = await refresh_stale_features(runner.context)
            return people
        finally:
            await config.get_engine().dispose()

    click.echo(f"refreshed the matching data of {anyio.run(work)} people")


@click.group(name="matching", cls=OperatorGroup)
def matching() -> None:
    """Matching features."""


matching.add_command(refresh_features)

COMMANDS = (matching,)
