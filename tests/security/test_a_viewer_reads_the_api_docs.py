"""A viewer (or an operator, or anyone without a session) opens /docs, /redoc or /openapi.json to
learn every route and field of the API: the gateway refuses them; only admins read the docs,
and the docs' pages load their scripts and styles from the gateway itself, never from a CDN.

Before, FastAPI served all three to anyone, and the pages pulled Swagger UI from a CDN.
"""

from __future__ import annotations

import re

from gateway.accounts import logged_in_as
from gateway.conftest import Gateway, logged_in_admin

from dockback_gateway.users.models import Role

DOCS = ("/openapi.json", "/docs", "/redoc")


async def test_a_viewer_reads_the_api_docs(gateway: Gateway) -> None:
    async with gateway.client() as anonymous:
        for path in DOCS:
            assert (await anonymous.get(path)).status_code == 401, path
    for role in (Role.VIEWER, Role.OPERATOR):
        async with logged_in_as(gateway, role) as client:
            for path in (*DOCS, "/docs/assets/swagger-ui-bundle.js"):
                refused = await client.get(path)
                assert refused.status_code == 403, (role, path)
                assert refused.json()["error"] == "forbidden"

    async with logged_in_admin(gateway) as admin:
        document = await admin.get("/openapi.json")
        assert document.status_code == 200
        assert "/plans" in document.json()["paths"]
        for page in ("/docs", "/redoc"):
            html = (await admin.get(page)).text
            urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)
            assert urls, page
            assert not [u for u in urls if "//" in u], f"{page} loads from elsewhere: {urls}"
            for url in urls:
                if url.startswith("docs/assets/"):
                    asset = await admin.get(f"/{url}")
                    assert asset.status_code == 200, url
                    assert len(asset.content) > 1000, url
        assert (await admin.get("/docs/assets/..%2Fcore.py")).status_code == 404
