"""The embedded local AWS: moto's server plus ecslab's fidelity layer."""

from .server import ensure_running, ping, serve, start, status, stop

__all__ = ["ensure_running", "ping", "serve", "start", "status", "stop"]
