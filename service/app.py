"""Application factory: ``create_app(settings)``. Nothing is read into globals at import."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter

from ionbase import __version__
from ionbase.settings import Settings

API_PREFIX = "/api/v1"

API_DESCRIPTION = """Ionbase: a materials database for solid-state battery research.

* Reads are open unless the server requires keys; writes need an API key
  (`Authorization: Bearer <key>` or `X-API-Key: <key>`, role writer or admin).
* Values are in canonical units (see `ionbase vocab`); `GET /properties?unit=mS/cm` converts output.
* `GET /properties?filter=` takes the OPTIMADE filter grammar over Ionbase field names
  (`GET /properties/fields` lists them); `GET /samples?filter=` the same grammar over sample fields
  (composition, synthesis summary); pages are cursor-based (`meta.next`).
* Parameters are strict: an unknown query parameter, form field or JSON key -> 400 naming it; a bad
  value -> 422. `POST /imports` takes `dry_run`/`skip_invalid` in the query string or, for a
  multipart upload, as form fields (conflicting values -> 400).
* Every error is `{code, status, message, errors}`.
"""


class PropertyIdConverter(BaseConverter):
    """A property id (``prop-…``), so ``/properties/fields`` and ``/properties/{id}`` never overlap."""

    regex = r"prop-[0-9A-Za-z_.:-]+"


def create_app(settings: Settings | None = None, *, store=None) -> Flask:
    """Build the Flask app for ``settings`` (from the environment when omitted)."""
    from flask_smorest import Api

    from ionbase.service import auth, headers
    from ionbase.service.blueprints import BLUEPRINTS
    from ionbase.service.errors import register_error_handlers
    from ionbase.service.keys import server_secret
    from ionbase.service.openapi_doc import GuardsPlugin
    from ionbase.service.web.assets import REDOC_URL, SWAGGER_UI_URL, vendor_blueprint
    from ionbase.service.web.views import bp as web_pages

    settings = settings or Settings.from_env()
    if store is None:
        from ionbase.store import open_store

        store = open_store(settings)
    app = Flask("ionbase")
    app.config.update(
        IONBASE_SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        TESTING=settings.testing,
        API_TITLE="Ionbase API",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
        OPENAPI_REDOC_PATH="redoc",
        OPENAPI_REDOC_URL=REDOC_URL,
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "servers": [{"url": "/", "description": "this server"}],
        },
    )
    app.json.sort_keys = False
    app.extensions["ionbase_store"] = store
    app.extensions["ionbase_key_secret"] = server_secret(settings)  # created (0600) on first start
    app.url_map.converters["propid"] = PropertyIdConverter
    api = Api(app, spec_kwargs={"extra_plugins": [GuardsPlugin()]})
    api.register_converter(PropertyIdConverter, lambda _c: {"type": "string", "pattern": PropertyIdConverter.regex})
    for name, scheme in auth.SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    for blp in BLUEPRINTS:
        api.register_blueprint(blp)
    from ionbase.service.optimade.views import blp as optimade

    app.register_blueprint(optimade)  # OPTIMADE has its own specification, outside the OpenAPI document
    # the pages and the API docs' scripts, all served from installed packages (no CDN)
    app.register_blueprint(vendor_blueprint())
    app.register_blueprint(web_pages)
    register_error_handlers(app)
    auth.install(app)
    headers.install(app)
    app.extensions["ionbase_api"] = api
    from ionbase.service.hot import HotReads

    app.wsgi_app = HotReads(app)  # plain GET /api/v1/properties without Flask's request machinery
    return app
