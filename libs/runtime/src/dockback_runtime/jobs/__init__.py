"""The job-worker kit: what every service that consumes job requests from JetStream shares.

errors        how a job fails, and whether trying again may help
announcer     publishing a job's facts (JetStream, deduplicated) and its progress (core NATS)
running       the jobs a process is working on: phases, cancellation, shutdown
cancellations users' cancellations, read from the cancellations bucket
runner        JobRunner: runs one job for a handler and settles its message (the ack policy)
worker        subscribing a job handler and starting a worker's consumers
settings      the job settings every worker reads from the environment
"""
