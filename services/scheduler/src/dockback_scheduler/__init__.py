"""DockBack scheduler: Fires plans on time: publishes BackupRequested with deterministic job ids."""

__version__ = "0.1.0"
