"""The edge: command line, daemon and operations endpoints; parse, call the pipeline, map errors."""
