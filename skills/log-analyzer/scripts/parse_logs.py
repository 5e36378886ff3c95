#!/usr/bin/env python3
"""Parse a log file in any supported layout into JSON Lines records (run with --help).

The code is the `loganalyzer` package beside this file; this entry point only runs it, with nothing but
the standard library needed to start (no conjure_nb, no third-party package).
"""

import os
import sys

if __name__ != "__main__":
    raise ImportError("parse_logs.py is a command, not a module: import the loganalyzer package instead")
# Python puts this folder on the import path, except in isolated mode (-I, -P): then it is done here.
# Only this process sees it: the host imports the package by its own name, never through sys.path.
_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

from loganalyzer.parse_logs import run  # noqa: E402

run()
