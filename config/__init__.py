"""Data shipped in the wheel as `computewatch.shipped`: example config, customer registry
examples and the generated permission documents. Nothing here is code."""
