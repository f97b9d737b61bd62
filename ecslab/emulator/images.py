"""What a container image "does" in the simulated data plane.

No container runs on the learner's machine: the emulator decides from the image
name how a container behaves. A *run-to-completion* image (hello-world) prints a
few lines and exits on its own, so its task stops with stop code
``EssentialContainerExited``; a *server* image (httpd) runs until it is stopped.
An image nobody registered is treated as a server, the common case for a
service.

Register a behaviour in this process with ``register_image``; against a running
emulator (another process), pass ``endpoint=`` and the same call goes to the
emulator's control path ``POST /ecslab/images`` with a JSON body
``{"pattern": ..., "behaviour": {...}}`` (``GET /ecslab/images`` lists them).

Example::

    register_image("registry.example/batch:*",
                   ImageBehaviour(kind="exits", exit_code=3,
                                  output=("working", "giving up")),
                   endpoint=session.endpoint_url)
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field

log = logging.getLogger(__name__)

CONTROL_PATH = "/ecslab/images"

KINDS = ("exits", "serves")


@dataclass(frozen=True)
class ImageBehaviour:
    """How a container from an image behaves once RUNNING.

    ``kind`` is ``"exits"`` (runs ``run_seconds`` realistic seconds, then exits
    with ``exit_code``) or ``"serves"`` (runs until stopped, then exits with
    ``exit_code``). ``output`` is the lines it writes to its log.
    """

    kind: str = "serves"
    exit_code: int = 0
    run_seconds: float = 1.0
    output: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if not isinstance(self.exit_code, int) or not 0 <= self.exit_code <= 255:
            raise ValueError(f"exit_code must be an integer 0-255, not "
                             f"{self.exit_code!r}")
        if self.run_seconds < 0:
            raise ValueError("run_seconds must be >= 0")
        object.__setattr__(self, "output", tuple(str(x) for x in self.output))

    @property
    def exits(self) -> bool:
        return self.kind == "exits"

    def to_dict(self) -> dict:
        return {**asdict(self), "output": list(self.output)}

    @classmethod
    def from_dict(cls, data: dict) -> "ImageBehaviour":
        """Build from JSON; unknown keys are refused, naming them."""
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown behaviour fields {unknown}; allowed: "
                             f"{sorted(allowed)}")
        return cls(**{**data, "output": tuple(data.get("output", ()))})


# hello-world's message, in our own words: what the real image explains when it
# runs (the client asked the daemon, which pulled the image and ran it).
HELLO_WORLD = ImageBehaviour(
    kind="exits",
    exit_code=0,
    run_seconds=1.0,
    output=(
        "",
        "Hello from Docker!",
        "If you can read this, your container engine works.",
        "",
        "What happened to print this:",
        " 1. A client asked the container engine to run an image.",
        " 2. The engine fetched the hello-world image from a registry.",
        " 3. It started a container from that image, which wrote these lines.",
        " 4. The engine passed the output on to where you read it now.",
        "",
        "Next: try an image that keeps running, such as a web server.",
    ),
    description="run to completion: prints a greeting and exits 0",
)

HTTPD = ImageBehaviour(
    kind="serves",
    exit_code=0,
    output=(
        "httpd: serving HTTP on port 80 (simulated)",
        "httpd: ready to answer requests with the default page",
    ),
    description="web server: runs until stopped",
)

UNKNOWN = ImageBehaviour(
    kind="serves",
    output=("unknown image: treated as a server that runs until stopped",),
    description="unregistered image: treated as a server",
)


def _library_patterns(name: str) -> list[str]:
    # The same Docker Official Image is reachable under several names.
    return [f"public.ecr.aws/docker/library/{name}:*",
            f"public.ecr.aws/docker/library/{name}",
            f"docker.io/library/{name}:*", f"docker.io/library/{name}",
            f"library/{name}:*", f"{name}:*", name]


@dataclass
class _Registry:
    entries: list[tuple[str, ImageBehaviour]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_registry = _Registry()


def register_image(pattern: str, behaviour: ImageBehaviour | dict,
                   *, endpoint: str | None = None) -> ImageBehaviour:
    """Make images matching ``pattern`` (a shell glob) behave as ``behaviour``.

    The newest registration wins over older ones and over the built-ins. With
    ``endpoint`` (the emulator's URL) the registration is sent to that running
    emulator instead of this process.
    """
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("pattern must be a non-empty string, e.g. 'myimage:*'")
    if isinstance(behaviour, dict):
        behaviour = ImageBehaviour.from_dict(behaviour)

    if endpoint is not None:
        _post(endpoint, {"pattern": pattern, "behaviour": behaviour.to_dict()})
        log.info("registered image behaviour %s -> %s at %s", pattern,
                 behaviour.kind, endpoint)
        return behaviour

    with _registry.lock:
        _registry.entries.insert(0, (pattern, behaviour))
    log.info("registered image behaviour %s -> %s", pattern, behaviour.kind)
    return behaviour


def behaviour_for(image: str | None) -> ImageBehaviour:
    """The behaviour of ``image``: the newest matching registration, else a server."""
    with _registry.lock:
        entries = list(_registry.entries)
    for pattern, behaviour in entries:
        if image and fnmatch.fnmatchcase(image, pattern):
            return behaviour
    return UNKNOWN


def registered() -> list[dict]:
    """Every registration, newest first, as JSON-ready dicts."""
    with _registry.lock:
        return [{"pattern": p, "behaviour": b.to_dict()}
                for p, b in _registry.entries]


def _post(endpoint: str, payload: dict) -> None:
    request = urllib.request.Request(
        endpoint.rstrip("/") + CONTROL_PATH, data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as error:
        # The emulator explains what it refused; pass that on.
        raise ValueError(error.read().decode(errors="replace")) from None


def _register_builtins() -> None:
    # Registered oldest first so that a user's registration always wins.
    for pattern in _library_patterns("httpd"):
        _registry.entries.insert(0, (pattern, HTTPD))
    for pattern in _library_patterns("hello-world"):
        _registry.entries.insert(0, (pattern, HELLO_WORLD))


_register_builtins()
