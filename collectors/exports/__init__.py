"""Billing exports (AWS CUR 2.0, FOCUS 1.0-1.2) as a source: DuckDB in-process, Athena at scale."""
