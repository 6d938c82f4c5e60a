"""The API's own documentation: the OpenAPI document, Swagger UI and ReDoc, for admins only.

The document lists every route and field of the API, so it sits behind the policy table like
any route (`POLICY`: admins). The pages' scripts and styles are served by the gateway from the
`fastapi-offline` package, never from a CDN: a browser showing the docs loads nothing from
outside. Every URL in the pages is relative, so they work on the API port (`/docs`) and under
the web UI's `/api/docs` alike.
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from dockback_gateway.auth.dependencies import enforce_policy
from dockback_gateway.auth.policy import ADMIN, Rows
from dockback_gateway.errors import NotFound

_ASSETS = resources.files("fastapi_offline") / "static"
_ASSET_NAMES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"})

router = APIRouter(tags=["system"], dependencies=[Depends(enforce_policy)], include_in_schema=False)

POLICY: Rows = {
    ("GET", "/openapi.json"): ADMIN,
    ("GET", "/docs"): ADMIN,
    ("GET", "/redoc"): ADMIN,
    ("GET", "/docs/assets/{name}"): ADMIN,
}


@router.get("/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    document: dict[str, Any] = request.app.openapi()
    return JSONResponse(document)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url="docs/assets/swagger-ui-bundle.js",
        swagger_css_url="docs/assets/swagger-ui.css",
        swagger_favicon_url="docs/assets/favicon.png",
        oauth2_redirect_url=None,
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url="openapi.json",
        title=f"{request.app.title} API",
        redoc_js_url="docs/assets/redoc.standalone.js",
        redoc_favicon_url="docs/assets/favicon.png",
        with_google_fonts=False,
    )


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> Response:
    if name not in _ASSET_NAMES:
        raise NotFound(f"no documentation asset named {name!r}")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response((_ASSETS / name).read_bytes(), media_type=kind, headers={"cache-control": "private, max-age=86400"})
