"""Declarative tables of the exports collectors (meter maps, versioned)."""
