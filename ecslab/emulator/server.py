"""The embedded AWS emulator: moto's server on loopback, plus ecslab's fidelity layer.

One long-lived background process serves every notebook, so state survives a
kernel restart. Its endpoint is recorded in a state file under ``ECSLAB_HOME``
(default ``~/.ecslab``), where the library and ``ecslab env`` find it.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

HEALTH_PATH = "/ecslab/health"
START_TIMEOUT = 60.0

# Named speeds: the factor every simulated duration is multiplied by.
SPEEDS = {"realistic": 1.0, "fast": 0.02, "instant": 0.0}


def home() -> Path:
    """The folder holding the emulator's state file and log."""
    path = Path(os.environ.get("ECSLAB_HOME") or Path.home() / ".ecslab")
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_file() -> Path:
    return home() / "emulator.json"


def parse_speed(value: str | float | None) -> float:
    """Turn ``realistic``/``fast``/``instant`` or a number into a time factor."""
    if value is None or value == "":
        value = os.environ.get("ECSLAB_SPEED", "realistic")
    if isinstance(value, (int, float)):
        factor = float(value)
    elif value in SPEEDS:
        factor = SPEEDS[value]
    else:
        try:
            factor = float(value)
        except ValueError:
            raise ValueError(
                f"speed must be one of {sorted(SPEEDS)} or a number >= 0, "
                f"not {value!r}"
            ) from None
    if factor < 0:
        raise ValueError(f"speed must be >= 0, not {factor}")
    return factor


def check_loopback(host: str) -> str:
    """Refuse any bind address but loopback: the emulator has no authentication."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"emulator host must be a loopback address, not {host!r}")
    if not address.is_loopback:
        raise ValueError(
            f"refusing to bind {host}: the emulator accepts any credentials, so it "
            "listens on loopback only (127.0.0.1 or ::1)"
        )
    return host


def build_app(speed: float, fidelity: bool = True):
    """moto's WSGI app, wrapped by the fidelity layer unless ``fidelity`` is False.

    Returns ``(app, dataplane)``; ``dataplane`` is None for plain moto.
    """
    # Managed policies (AmazonECSTaskExecutionRolePolicy...) load only when asked.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )

    from . import health

    app = DomainDispatcherApplication(create_backend_app)
    dataplane = None
    if fidelity:
        from . import fidelity as layer

        app, dataplane = layer.wrap(app, speed=speed)
    return health.HealthApp(app, speed=speed, fidelity=fidelity), dataplane


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    speed: str | float | None = None,
    fidelity: bool = True,
    state_path: Path | None = None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Run the emulator in the foreground until interrupted.

    ``on_listening`` is called with the URL once the socket is bound, before the
    first request is served (the command line announces it there).
    """
    host = check_loopback(host)
    factor = parse_speed(speed)
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    app, dataplane = build_app(factor, fidelity=fidelity)
    server = make_server(host, port, app, threaded=True,
                         request_handler=MotoRequestHandler)
    bound_port = server.server_address[1]
    # An IPv6 literal in a URL goes in brackets (RFC 3986), or the port is lost.
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{bound_port}"

    if state_path is not None:
        record = {"pid": os.getpid(), "host": host, "port": bound_port, "url": url,
                  "speed": factor, "fidelity": fidelity}
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(state_path)

    def shut(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shut)
    log.info("emulator listening on %s (speed %s, fidelity %s)", url, factor, fidelity)
    if on_listening is not None:
        on_listening(url)
    if dataplane is not None:
        dataplane.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if dataplane is not None:
            dataplane.stop()
        server.server_close()
        if state_path is not None and _read_state(state_path).get("pid") == os.getpid():
            state_path.unlink(missing_ok=True)


def _read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ping(url: str, timeout: float = 2.0) -> dict | None:
    """The emulator's health record, or None when nothing answers at ``url``."""
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def status() -> dict:
    """Whether the shared emulator runs, with its pid and endpoint when it does."""
    record = _read_state(state_file())
    if record and _alive(record.get("pid", -1)) and ping(record["url"]):
        return {"running": True, **record}
    return {"running": False, "state_file": str(state_file())}


@contextmanager
def _start_lock():
    with open(home() / "emulator.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start(port: int = 0, speed: str | float | None = None,
          fidelity: bool = True) -> dict:
    """Start the shared background emulator unless it already runs; its record."""
    with _start_lock():
        current = status()
        if current["running"]:
            return current

        path = state_file()
        path.unlink(missing_ok=True)
        command = [sys.executable, "-m", "ecslab", "emulator", "serve",
                   "--port", str(port), "--state-file", str(path),
                   "--speed", str(parse_speed(speed))]
        if not fidelity:
            command.append("--plain")
        logfile = open(home() / "emulator.log", "ab")
        process = subprocess.Popen(
            command, stdout=logfile, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            env=_server_env(),
        )
        logfile.close()

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the emulator exited with code {process.returncode}; "
                    f"see {home() / 'emulator.log'}"
                )
            record = _read_state(path)
            if record and ping(record["url"], timeout=0.5):
                log.info("started emulator pid %s on %s", record["pid"], record["url"])
                return {"running": True, **record}
            time.sleep(0.05)
        process.terminate()
        raise TimeoutError(f"the emulator did not answer within {START_TIMEOUT:.0f}s")


def _server_env() -> dict:
    # The emulator never needs real credentials; keep them out of its environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env


def stop(timeout: float = 10.0) -> bool:
    """Stop the shared emulator; True when one was running."""
    path = state_file()
    record = _read_state(path)
    pid = record.get("pid")
    if not pid or not _alive(pid):
        path.unlink(missing_ok=True)
        return False

    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    log.info("stopped emulator pid %s", pid)
    return True


def ensure_running() -> str:
    """The shared emulator's URL, starting it on demand."""
    return start()["url"]
