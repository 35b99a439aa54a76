"""The OpenAPI document, derived from what the server enforces, and its offline docs page.

Litestar documents what a handler returns on success. What else an operation can answer (its
problem documents), who may call it and which bodies refuse unknown fields are decided
elsewhere: by the problem handlers, the authentication and rate-limit middleware and msgspec.
This module reads those same sources, so the document cannot drift from the server.
"""

from importlib.resources import files
from pathlib import Path
from typing import Any

import msgspec
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler

# The very test Litestar's middleware runs on each request, so the document agrees with it.
from litestar.middleware._utils import build_exclude_path_pattern, should_bypass_middleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Schema, SecurityRequirement
from litestar.plugins import InitPluginProtocol, OpenAPISchemaPlugin, ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.security.base import AbstractSecurityConfig
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition
from msgspec import UNSET, UnsetType

from selflink_api.platform.problems import PROBLEM_JSON, kind_for_status

DOCS_PATH = "/schema"
ASSETS_PATH = f"{DOCS_PATH}/assets"
SWAGGER_ASSETS = Path(str(files("swagger_ui") / "static"))
"""Swagger UI's own build, shipped by the `swagger-ui-py` package: no CDN is needed."""


class FieldProblem(msgspec.Struct, kw_only=True):
    """One entry of a problem's `errors`; domains may add keys such as `choices`."""

    field: str
    source: str
    message: str
    code: str | UnsetType = UNSET


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details, as `platform.problems` writes them; extensions may follow."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | UnsetType = UNSET
    errors: list[FieldProblem] | UnsetType = UNSET


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem responses an operation declares itself, on top of those derived here."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=kind_for_status(status).title,
            generate_examples=False,
        )
        for status in statuses
    }


def build_openapi_config() -> OpenAPIConfig:
    """Swagger UI at /schema, its scripts and styles served by the app itself."""
    return OpenAPIConfig(
        title="SelfLink API",
        version="1",
        description=(
            "SelfLink's REST API. Errors are RFC 9457 problem details. Every string, in a body, "
            "a path or a query, refuses U+0000 (422); JSON bodies are UTF-8, at most 64 levels "
            "deep, with no key repeated in an object (400)."
        ),
        path=DOCS_PATH,
        render_plugins=[
            SwaggerRenderPlugin(
                path=["/", "/swagger"],
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' href='{ASSETS_PATH}/favicon-32x32.png'>",
            )
        ],
    )


class ClosedStructSchemas(OpenAPISchemaPlugin):
    """Structs with `forbid_unknown_fields` are documented with `additionalProperties: false`."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return (
            not field_definition.is_union
            and field_definition.is_subclass_of(msgspec.Struct)
            and field_definition.type_.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        litestars_own = next(
            plugin
            for plugin in schema_creator.plugins
            if plugin is not self and schema_creator.plugin_supports_field(plugin, field_definition)
        )
        schema: Schema = litestars_own.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


class ApiContract(InitPluginProtocol, ReceiveRoutePlugin):
    """Documents each operation's security and problem responses from the middleware's rules,
    and serves the docs' assets. (`OPTIONS` is answered by `platform.requests`.)"""

    def __init__(
        self,
        auth: AbstractSecurityConfig[Any, Any],
        rate_limit: RateLimitConfig,
        *,
        anonymous_opt_key: str,
    ) -> None:
        """`anonymous_opt_key` marks routes whose authentication is optional."""
        self.auth = auth
        self.rate_limit = rate_limit
        self.anonymous_opt_key = anonymous_opt_key
        self.requirement: SecurityRequirement = auth.security_requirement

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        config = app_config.openapi_config
        if config is not None and config.security:
            # Each operation states its own security below; nothing is inherited.
            config.security = [r for r in config.security if r != self.requirement] or None
        app_config.route_handlers.append(
            create_static_files_router(
                ASSETS_PATH, directories=[SWAGGER_ASSETS], include_in_schema=False
            )
        )
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for method, (handler, kwargs) in route.route_handler_map.items():
            if not handler.resolve_include_in_schema():
                continue
            statuses: set[int] = set()
            body = "data" in kwargs.expected_reserved_kwargs
            parameters = (
                kwargs.expected_path_params
                or kwargs.expected_query_params
                or kwargs.expected_header_params
                or kwargs.expected_cookie_params
            )
            if body:
                statuses |= {413, 415}
            if body or parameters:
                statuses |= {400, 422}
            if kwargs.expected_path_params:
                statuses.add(404)
            handler.security = self._security(handler, route.path, method)
            if handler.security:
                statuses |= {401, 403}
            if not self._bypasses(self.rate_limit, handler, route.path, method):
                statuses.add(429)
            handler.responses = {**problems(*sorted(statuses)), **(handler.responses or {})}

    def _security(
        self, handler: HTTPRouteHandler, path: str, method: str
    ) -> list[SecurityRequirement]:
        if self._bypasses(self.auth, handler, path, method):
            return []
        if handler.opt.get(self.anonymous_opt_key):
            return [{}, self.requirement]
        return [self.requirement]

    @staticmethod
    def _bypasses(middleware: Any, handler: HTTPRouteHandler, path: str, method: str) -> bool:
        """Whether `middleware` leaves this operation alone: Litestar's own test, on the
        middleware's own `exclude`, `exclude_opt_key` and `exclude_http_methods`."""
        scope: Any = {
            "type": ScopeType.HTTP,
            "path": path,
            "method": method,
            "route_handler": handler,
        }
        return should_bypass_middleware(
            exclude_http_methods=getattr(middleware, "exclude_http_methods", None),
            exclude_opt_key=middleware.exclude_opt_key,
            exclude_path_pattern=build_exclude_path_pattern(exclude=middleware.exclude),
            scope=scope,
            scopes={ScopeType.HTTP},
        )
