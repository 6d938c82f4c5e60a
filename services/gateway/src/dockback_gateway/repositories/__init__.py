"""Restic repositories of plans whose format is `repository`: their passwords, kept encrypted."""
