"""Fixtures that start and reach real servers for the tests."""
