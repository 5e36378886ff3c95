#!/usr/bin/env python3
"""Analyse logs: health, error rate, top errors, incidents, as JSON (run with --help).

The code is the `loganalyzer` package beside this file; this entry point only runs it, with nothing but
the standard library needed to start (no conjure_nb, no third-party package).
"""

import gc
import os
import sys

if __name__ != "__main__":
    raise ImportError("analyze.py is a command, not a module: import the loganalyzer package instead")
# Python puts this folder on the import path, except in isolated mode (-I, -P): then it is done here.
# Only this process sees it: the host imports the package by its own name, never through sys.path.
_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

# Importing the package makes thousands of objects and no garbage: the collector is kept from
# looking through them, during the imports and after (~1% of a run over a 40 MB JSON array).
gc.disable()
from loganalyzer.analyze import run  # noqa: E402

gc.freeze()
gc.enable()
run()
