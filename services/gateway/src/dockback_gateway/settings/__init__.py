"""Settings: the gateway's own configuration from the environment (`Settings`), and the
typed, encrypted settings users store through the API (`routes`, `service`, ...)."""

from dockback_gateway.settings.environment import Settings

__all__ = ["Settings"]
