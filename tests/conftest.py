"""Real infrastructure for the tests: nats-server, PostgreSQL, the Docker Engine.

Missing infrastructure fails a test with a message that says what is missing; it never
turns into a skip. `make test` provisions all of it first.
"""

import os

# The S3, SMTP and webhook servers of the tests run on loopback: let every service the tests
# start (in this process or as a child) connect to them. The tests of the outbound policy
# itself (tests/runtime/test_outbound.py, tests/security/) pass allow_private=False explicitly.
os.environ.setdefault("DOCKBACK_ALLOW_PRIVATE_TARGETS", "true")

pytest_plugins = [
    "harness.nats_server",
    "harness.postgres",
    "harness.docker_engine",
    "harness.s3_server",
    "harness.smtp_server",
    "harness.secured_nats",
]
