"""The session cookies: HttpOnly, SameSite=Strict, and Secure + `__Host-` on https."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Response


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool

    @classmethod
    def for_base_url(cls, base_url: str) -> CookiePolicy:
        return cls(secure=urlsplit(base_url).scheme == "https")

    def name(self, base: str) -> str:
        return f"__Host-{base}" if self.secure else base

    @property
    def access(self) -> str:
        return self.name("dockback_access")

    @property
    def refresh(self) -> str:
        return self.name("dockback_refresh")

    @property
    def csrf(self) -> str:
        return self.name("dockback_csrf")

    @property
    def device(self) -> str:
        return self.name("dockback_device")

    def set_session(
        self, response: Response, access: str, refresh: str | None, csrf: str, refresh_seconds: int
    ) -> None:
        """The session's cookies; without `refresh`, the browser keeps the refresh cookie it has."""
        common = {"secure": self.secure, "samesite": "strict", "path": "/"}
        response.set_cookie(self.access, access, httponly=True, max_age=refresh_seconds, **common)  # type: ignore[arg-type]
        if refresh is not None:
            response.set_cookie(self.refresh, refresh, httponly=True, max_age=refresh_seconds, **common)  # type: ignore[arg-type]
        # Readable by the UI's script, which echoes it in the X-CSRF-Token header (double submit).
        response.set_cookie(self.csrf, csrf, httponly=False, max_age=refresh_seconds, **common)  # type: ignore[arg-type]

    def set_device(self, response: Response, device: str, seconds: int) -> None:
        """The device cookie (auth.devices): kept at logout, so this browser stays known."""
        response.set_cookie(
            self.device, device, httponly=True, max_age=seconds, secure=self.secure, samesite="strict", path="/"
        )

    def clear(self, response: Response) -> None:
        for name in (self.access, self.refresh, self.csrf):
            response.delete_cookie(name, path="/", secure=self.secure, httponly=name != self.csrf, samesite="strict")
