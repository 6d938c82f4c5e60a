"""DockBack uploader: Runs beside each executor: copies archives to S3-compatible storage."""

__version__ = "0.1.0"
