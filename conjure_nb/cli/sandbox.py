"""`conjure-nb sandbox build | prune`: the docker backend's image and leftovers.

`build --offline` needs no container registry (debootstrap + wheels + docker import; root only);
plain `build` uses the Dockerfile and needs one for the python base image. `prune` removes every
container and volume labelled `conjure-nb`, e.g. those a killed Python process left behind.
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

    p = sub.add_parser("prune", help="remove every container and volume labelled conjure-nb")
    p.add_argument("--session", default=None, help="only those of this session id")
    p.add_argument("--owner", type=int, default=None, help="only those made by this process id on this host")
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
    """Remove leftover sandbox containers (and remote-mode volumes); print what went."""
    from ..executors.docker import connect, prune

    client = connect(ns.base_url)
    try:
        removed = prune(client, ns.session, owner=ns.owner)
    finally:
        client.close()
    for cid in removed:
        print(f"removed {cid}")
    print(f"{len(removed)} container(s) removed")
    return 0
