"""DockBack notifier: Alerts by email and webhook when jobs fail or runs are missed."""

__version__ = "0.1.0"
