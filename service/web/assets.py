"""Third-party browser assets served by Ionbase itself from installed Python packages (no CDN).

Swagger UI comes from ``swagger-ui-bundle``, ReDoc's standalone bundle from ``flask-openapi3-redoc``
and plotly.js from ``plotly``. Each is located with ``importlib.util.find_spec`` (the package is not
imported) when the app is built, so a missing package fails at start-up, naming it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Blueprint, Response, send_from_directory
from ionbase.errors import NotFound

VENDOR_PREFIX = "/assets/vendor"
#: asset group -> (installed package, folder inside it (a glob matching one folder), files served)
VENDOR: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "swagger-ui": ("swagger_ui_bundle", "vendor/swagger-ui-*",
                   ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png")),
    "redoc": ("flask_openapi3_redoc", "templates/redoc/js", ("redoc.standalone.js",)),
    "plotly": ("plotly", "package_data", ("plotly.min.js",)),
}
SWAGGER_UI_URL = f"{VENDOR_PREFIX}/swagger-ui/"
REDOC_URL = f"{VENDOR_PREFIX}/redoc/redoc.standalone.js"
PLOTLY_URL = f"{VENDOR_PREFIX}/plotly/plotly.min.js"
#: links to other hosts inside a vendored bundle, replaced when it is served: ReDoc's side menu shows
#: a logo from cdn.redoc.ly (its <img> hides itself when the image fails, so any local image will do)
REWRITES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("redoc", "redoc.standalone.js"): (("https://cdn.redoc.ly/redoc/logo-mini.svg", "/assets/web/favicon.svg"),),
}


class MissingAsset(RuntimeError):
    """An installed package that should ship a browser asset is missing or lacks the file."""


def vendor_dirs() -> dict[str, Path]:
    """Asset group -> its folder on disk; raises MissingAsset naming the package and file."""
    out: dict[str, Path] = {}
    for group, (package, folder, files) in VENDOR.items():
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise MissingAsset(f"package {package!r} (browser assets {group}) is not installed")
        found = sorted(Path(list(spec.submodule_search_locations)[0]).glob(folder))
        if len(found) != 1:
            raise MissingAsset(f"package {package!r}: expected one folder {folder}, found {len(found)}")
        base = found[0]
        for name in files:
            if not (base / name).is_file():
                raise MissingAsset(f"package {package!r} has no {folder}/{name}")
        out[group] = base
    return out


def vendor_blueprint() -> Blueprint:
    """``/assets/vendor/<group>/<file>``: only the listed files of each group."""
    dirs = vendor_dirs()
    rewritten = {key: _rewrite((dirs[key[0]] / key[1]).read_text(encoding="utf-8"), subs) for key, subs in REWRITES.items()}
    bp = Blueprint("vendor_assets", __name__, url_prefix=VENDOR_PREFIX)

    @bp.route("/<group>/<path:filename>")
    def vendor(group: str, filename: str):
        if group not in dirs or filename not in VENDOR[group][2]:
            raise NotFound(f"no vendored asset {group}/{filename}")
        if (group, filename) in rewritten:
            resp = Response(rewritten[group, filename], mimetype="text/javascript")
            resp.cache_control.max_age = 86400
            return resp
        return send_from_directory(dirs[group], filename, max_age=86400)

    return bp


def _rewrite(text: str, subs: tuple[tuple[str, str], ...]) -> str:
    """Replace each foreign URL; every one must occur (tests/web prove no request leaves the host)."""
    for old, new in subs:
        if old not in text:
            raise MissingAsset(f"vendored bundle no longer contains {old!r}: review REWRITES")
        text = text.replace(old, new)
    return text
