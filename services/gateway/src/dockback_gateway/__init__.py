"""DockBack gateway: the only door users come through.

REST API and web UI; owner of Postgres and of the JetStream streams.
"""

__version__ = "0.1.0"
