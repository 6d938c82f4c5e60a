"""Real infrastructure for the tests: nats-server, PostgreSQL, the Docker Engine.

Missing infrastructure fails a test with a message that says what is missing; it never
turns into a skip. `make test` provisions all of it first.
"""

pytest_plugins = [
    "harness.nats_server",
    "harness.postgres",
    "harness.docker_engine",
    "harness.s3_server",
    "harness.smtp_server",
    "harness.secured_nats",
]
