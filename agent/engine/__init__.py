"""The engine: usage in, an Assessment out. Pure: no I/O, no clock (windows are passed in)."""
