"""DockBack's shared contracts: events, subjects, streams. No I/O.

from dockback_contracts import events, subjects, streams
"""

__version__ = "0.1.0"
