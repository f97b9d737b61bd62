"""The fidelity layer: guards in front of moto, and the simulated data plane.

``wrap`` is the one place the pieces are put together.
"""

from __future__ import annotations


def wrap(app, speed: float):
    """Return ``(wrapped_app, dataplane)`` for moto's WSGI ``app``."""
    from . import moto_adapter
    from .dataplane import DataPlane
    from .guards import GuardMiddleware

    moto_adapter.name_service_linked_roles_as_aws()
    dataplane = DataPlane(speed=speed)
    wrapped = GuardMiddleware(dataplane.wrap(app))
    return wrapped, dataplane
