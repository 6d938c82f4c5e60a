"""DockBack operations tools (they run; libraries do not)."""
