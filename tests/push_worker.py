"""One push sender as its own process, for a test to kill mid-send with SIGKILL:
`python -m tests.push_worker DELIVERY_ID`, settings from the environment. It runs the real
`notifications.send_push` job and prints what it returned."""

import asyncio
import sys
from collections.abc import Mapping
from typing import Any

from selflink_api.notifications import jobs
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.jobs import JobContext, JobDefinition
from selflink_api.settings import load_settings


class NoFollowUps:
    async def submit(self, job: JobDefinition, kwargs: Mapping[str, Any]) -> None:
        msg = f"send_push enqueues nothing, yet asked for {job.name}"
        raise RuntimeError(msg)


async def main(delivery_id: str) -> None:
    settings = load_settings()
    config = build_sqlalchemy_config(settings)
    context = JobContext(settings, config.create_session_maker(), NoFollowUps())
    print(await jobs.send_push(context, delivery_id=delivery_id), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
