"""DockBack executor: Runs on each Docker host: backs up and restores volumes, containers and images."""

__version__ = "0.1.0"
