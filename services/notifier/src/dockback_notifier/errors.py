"""How a channel says a delivery failed."""

from __future__ import annotations


class DeliveryError(Exception):
    """An alert could not be delivered. `permanent`: trying again cannot help (bad settings).

    The message is shown to people (logs, check replies): it never contains a secret.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
