#!/usr/bin/env python3
"""Echo the arguments (or stdin) back as JSON: the smallest skill script that proves a backend works."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="echo.py", description="Echo text back as one JSON object on stdout."
    )
    parser.add_argument("text", nargs="*", help="what to echo (default: read stdin)")
    parser.add_argument("--upper", action="store_true", help="echo it in upper case")
    args = parser.parse_args(argv)
    text = " ".join(args.text) if args.text else sys.stdin.read().strip()
    if args.upper:
        text = text.upper()
    print(
        json.dumps(
            {
                "echo": text,
                "words": len(text.split()),
                "cwd": os.getcwd(),
                "python": platform.python_version(),
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
