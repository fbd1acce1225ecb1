"""The admin's `cluster:` section: how long an instance's hold on a lease lasts and how often
it renews it, when several identical instances share one database (issue 19)."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import model_validator

from responder.config.types import FrozenModel, PositiveDuration, fail

__all__ = ["ClusterConfig"]


class ClusterConfig(FrozenModel):
    """Optional: one instance alone works the same with or without it (it takes every lease
    at its first heartbeat). Absent: the defaults below."""

    # A holder that stops renewing (killed, cut off from the database) loses its leases this
    # long after its last renewal; another instance takes its intake over then. Shorter
    # means a faster takeover and more writes to the database.
    lease_ttl: PositiveDuration = timedelta(seconds=30)
    # How often the holder renews, and how often the others look for a free lease.
    heartbeat: PositiveDuration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _renewed_in_time(self) -> Self:
        # Under half the ttl: a holder gets a second try at renewing before its hold runs
        # out, and stops its intake (fencing) before another instance may take it.
        if self.heartbeat * 2 >= self.lease_ttl:
            message = "must be shorter than half of lease_ttl (a second renewal must fit)"
            raise fail("cluster", message, ("heartbeat",), show_input=False)
        if self.lease_ttl < timedelta(seconds=1):
            raise fail("cluster", "at least 1s", ("lease_ttl",), show_input=False)
        return self
