"""`conjure-nb sandbox build | prune`: the docker backend's image and leftovers.

`build --offline` needs no container registry (debootstrap + wheels + docker import; root only);
plain `build` uses the Dockerfile and needs one for the python base image. `prune` removes the
containers and volumes labelled `conjure-nb` whose owning process is gone (those a killed Python
process left behind), never a running session's; `prune --all` removes every one of them.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["cmd_build", "cmd_prune", "register"]


def register(subparsers: Any) -> None:
    """Add `sandbox build` and `sandbox prune` to the `conjure-nb` parser."""
    sandbox = subparsers.add_parser("sandbox", help="build the docker sandbox image, remove leftovers")
    sub = sandbox.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    sandbox.set_defaults(func=lambda _ns: _help(sandbox))

    p = sub.add_parser("build", help="build the sandbox image (conjure-nb/sandbox:latest)")
    p.add_argument("--tag", default=None, help="image tag (default: $CONJURE_SANDBOX_IMAGE or the default)")
    p.add_argument(
        "--offline",
        action="store_true",
        help="no registry: debootstrap Debian, add wheels from PyPI, docker import (needs root)",
    )
    p.add_argument("--force", action="store_true", help="rebuild even if the image is up to date")
    p.add_argument("--base-url", default=None, help="the Docker engine (default: DOCKER_HOST)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "prune", help="remove the sandbox containers whose owning process is gone (--all: every one)"
    )
    p.add_argument("--session", default=None, help="only those of this session id")
    p.add_argument("--owner", type=int, default=None, help="only those made by this process id on this host")
    p.add_argument(
        "--all",
        action="store_true",
        help="remove them even when their owner still runs or cannot be told (live sessions lose theirs)",
    )
    p.add_argument("--base-url", default=None, help="the Docker engine (default: DOCKER_HOST)")
    p.set_defaults(func=cmd_prune)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def cmd_build(ns: argparse.Namespace) -> int:
    """Build (or confirm up to date) the sandbox image; progress and timings go to stderr."""
    from ..executors.docker import build_image, connect, default_image

    client = connect(ns.base_url)
    try:
        tag = ns.tag or default_image()
        build_image(tag, offline=ns.offline, force=ns.force, client=client)
    finally:
        client.close()
    print(tag)
    return 0


def cmd_prune(ns: argparse.Namespace) -> int:
    """Remove leftover sandbox containers (and remote-mode volumes); print what went and what stayed."""
    from ..executors.docker import connect
    from ..executors.docker._client import owner_alive, prune, prune_orphans

    removed: list[str] = []
    live: list[str] = []
    unknown: list[str] = []
    client = connect(ns.base_url)
    try:
        if ns.owner is not None and not ns.all and owner_alive(_owner_labels(ns.owner)):
            live = [f"those of process {ns.owner}"]
        elif ns.all or ns.owner is not None:  # everything, or all of one owner that is gone
            removed = prune(client, ns.session, owner=ns.owner)
        else:
            removed, live, unknown = prune_orphans(client, ns.session)
    finally:
        client.close()
    for cid in removed:
        print(f"removed {cid}")
    print(f"{len(removed)} container(s) removed")
    if live:
        print(f"kept {len(live)} whose owner is running ({', '.join(live)}); --all removes them too")
    if unknown:
        print(
            f"kept {len(unknown)} whose owner cannot be told here ({', '.join(unknown)}); --all removes them"
        )
    return 0


def _owner_labels(pid: int) -> dict[str, str]:
    import socket

    from ..executors.docker._client import HOST_LABEL, PID_LABEL

    return {PID_LABEL: str(pid), HOST_LABEL: socket.gethostname()}
