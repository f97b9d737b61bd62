"""The ``ecslab`` command: the emulator, a shell environment for it, the lab."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path

from . import emulator


def _emulator(args) -> int:
    if args.action == "serve":
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(name)s %(message)s")
        state = Path(args.state_file) if args.state_file else None
        try:
            emulator.serve(host=args.host, port=args.port, speed=args.speed,
                           fidelity=not args.plain, state_path=state,
                           on_listening=lambda url: print(
                               f"ecslab emulator listening on {url}", flush=True))
        except ValueError as error:
            print(f"ecslab emulator: {error}", file=sys.stderr)
            return 2
        return 0
    if args.action == "start":
        record = emulator.start(port=args.port, speed=args.speed,
                                fidelity=not args.plain)
        print(f"emulator running on {record['url']} (pid {record['pid']})")
        return 0
    if args.action == "stop":
        print("emulator stopped" if emulator.stop() else "emulator was not running")
        return 0
    record = emulator.status()
    if args.json:
        print(json.dumps(record))
    elif record["running"]:
        print(f"running on {record['url']} (pid {record['pid']}, "
              f"speed {record['speed']})")
    else:
        print("not running")
    return 0 if record["running"] else 3


def _env(args) -> int:
    from .session import LOCAL_ENV_MARKER, Session

    session = Session(target="local", region=args.region)
    env = session.cli_env(base={})
    for key in sorted(env):
        if key.startswith("AWS_") or key == LOCAL_ENV_MARKER:
            print(f"export {key}={shlex.quote(env[key])}")
    return 0


def _lab(args) -> int:
    from .session import Session, resolve_target

    target = resolve_target()
    if target == "local":
        # Kernels and terminals inherit the emulator's endpoint and dummy keys, so
        # a plain `aws ...` in a JupyterLab terminal reaches the emulator only.
        session = Session(target="local", region=args.region)
        env = session.cli_env()
        env["ECSLAB_TARGET"] = "local"
        where = (f"emulator: {session.endpoint_url}  "
                 "(terminals in JupyterLab use it too)")
    else:
        # A real account: the learner's own credential chain, untouched, and no
        # emulator endpoint anywhere in the environment.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_ENDPOINT_URL")}
        env["ECSLAB_TARGET"] = "aws"
        where = ("target: aws, a real account (the allow list, cost estimate and "
                 "teardown confirmation guard every change)")
    root = Path(args.notebooks).resolve()
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={root}",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={args.port}"]
    # Headless machines have no browser to open: serve and print the URL.
    if args.no_browser or not (os.environ.get("DISPLAY")
                               or os.environ.get("WAYLAND_DISPLAY")
                               or os.environ.get("BROWSER")
                               or sys.platform in ("darwin", "win32")):
        command.append("--no-browser")
    # Containers and CI machines often run as root, which Jupyter refuses unasked.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    print(where)
    os.execvpe(command[0], command, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ecslab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    emu = commands.add_parser("emulator", help="the embedded local AWS")
    emu.add_argument("action", choices=["start", "stop", "status", "serve"])
    emu.add_argument("--host", default="127.0.0.1",
                     help="loopback address to bind (serve only)")
    emu.add_argument("--port", type=int, default=0, help="0 picks a free port")
    emu.add_argument("--speed", default=None,
                     help="realistic, fast, instant or a time factor "
                          "(default: $ECSLAB_SPEED or realistic)")
    emu.add_argument("--plain", action="store_true",
                     help="plain moto, without the fidelity layer")
    emu.add_argument("--state-file", help=argparse.SUPPRESS)
    emu.add_argument("--json", action="store_true", help="status as JSON")
    emu.set_defaults(func=_emulator)

    env = commands.add_parser("env", help="shell exports pointing the AWS CLI at the "
                                          "emulator: eval \"$(ecslab env)\"")
    env.add_argument("--region", default="ap-northeast-1")
    env.set_defaults(func=_env)

    lab = commands.add_parser("lab", help="start the emulator and open JupyterLab")
    lab.add_argument("--region", default="ap-northeast-1")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--notebooks", default="notebooks")
    lab.add_argument("--no-browser", action="store_true")
    lab.set_defaults(func=_lab)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
