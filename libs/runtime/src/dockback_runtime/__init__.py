"""What every DockBack service runs on (the wire types are in dockback_contracts).

connection  NATS connection options, credentials files, the broker's inbox
delivery    durable consumers created or updated, in-progress acks while a job runs
health      the `ping` healthcheck of every service
logs        JSON or text logs with the job and host ids
metrics     the /metrics server and the metrics every job-running service shares
tasks       stopping background loops
jobs        the job-worker kit: run a job from a JetStream request and settle its message
pull_timeouts  a pull consumer's empty fetch no longer stops it (applied on import)
"""

from dockback_runtime import pull_timeouts

pull_timeouts.apply()
