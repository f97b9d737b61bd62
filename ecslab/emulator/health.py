"""A tiny WSGI layer answering ``/ecslab/health``, in front of everything else."""

from __future__ import annotations

import json
import os


class HealthApp:
    """Answer the health path; pass every other request to ``app``."""

    def __init__(self, app, speed: float, fidelity: bool):
        self.app = app
        self.record = {"ok": True, "pid": os.getpid(), "speed": speed,
                       "fidelity": fidelity, "simulated": True}

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/ecslab/health":
            body = json.dumps(self.record).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)
