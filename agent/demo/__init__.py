"""The embedded demo: emulated AWS and Azure and a fictional scenario.

The product imports this package only from the `demo` command; tests and benchmarks use it too.
"""
