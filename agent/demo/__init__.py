"""The embedded demo: emulated AWS and Azure and a fictional scenario.

The product imports this package only from the `demo` command; tests and benchmarks use it too.
"""

from __future__ import annotations

import importlib.util

# Modules of the `demo` extra (moto[server], trustme) that the emulators import when they start.
DEMO_MODULES = ("moto", "flask", "flask_cors", "trustme")


def missing_demo_modules() -> list[str]:
    """The modules of the `demo` extra that are not installed (checked before anything starts)."""
    return [m for m in DEMO_MODULES if importlib.util.find_spec(m) is None]
