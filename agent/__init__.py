"""computewatch: who used how much advanced AI compute, from where, against which threshold."""

__version__ = "0.1.0"
