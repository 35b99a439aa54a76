"""The search domain: people and posts by their words. Its index lives in the tables of
accounts and content (generated columns on PostgreSQL, FTS5 tables on SQLite), built by its
migration alone, so it declares them `migration_only`."""

from selflink_api.content.media import MediaUrls
from selflink_api.platform.domains import Domain, Shared
from selflink_api.search.backends import MIGRATION_ONLY
from selflink_api.search.controllers import SearchController, SearchToolkit


def build_toolkit(shared: Shared) -> SearchToolkit:
    return SearchToolkit(
        shared.events, MediaUrls(shared.settings), shared.settings.search_ranked_posts
    )


DOMAIN = Domain(
    name="search",
    controllers=(SearchController,),
    toolkit=build_toolkit,
    migration_only=MIGRATION_ONLY,
)
