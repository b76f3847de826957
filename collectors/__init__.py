"""Collectors: read cloud APIs, emit typed records. See collectors.base for the interface."""
