"""Settings users store through the API: typed, encrypted at rest, published as snapshots
for the uploader and notifier (`routes`, `service`, `checks`, ...). The gateway's own
configuration from the environment is `dockback_gateway.config`."""
