"""Rule profiles shipped in the wheel as `computewatch.shipped.rules`."""
