#!/usr/bin/env python3
"""Write an incident report (xlsx and/or pdf) from analysis.json (run with --help).

The code is the `incident_report` package beside this file; this entry point only runs it, with nothing but
the standard library needed to start (no conjure_nb, no third-party package).
"""

import os
import sys

if __name__ != "__main__":
    raise ImportError("make_report.py is a command, not a module: import the incident_report package instead")
# Python puts this folder on the import path, except in isolated mode (-I, -P): then it is done here.
# Only this process sees it: the host imports the package by its own name, never through sys.path.
_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

from incident_report.make_report import run  # noqa: E402

run()
