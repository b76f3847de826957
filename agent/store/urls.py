"""Which store URLs work, and what to tell an operator when one does not."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from computewatch.domain.errors import StoreError, StoreUnavailable
from computewatch.store.sql import reason, redact
from computewatch.store.writable import is_refusal, refused

# Schemes with a driver installed and a dialect the repositories know (ON CONFLICT upserts).
SUPPORTED_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")

_HINTS = (
    ("does not exist", "create the database (e.g. `createdb NAME`) or correct the URL"),
    ("password authentication failed", "check the user and the PGPASSWORD environment variable"),
    ("connection refused", "is PostgreSQL running there? check the host and port in the URL"),
    ("could not translate host name", "check the host name in the URL"),
    ("name or service not known", "check the host name in the URL"),
    ("timeout", "is the server reachable from here (firewall, network)?"),
    ("unable to open database file", "the SQLite file's directory must exist and be writable"),
)


def check_scheme(url: str) -> None:
    """Refuse a URL whose scheme computewatch cannot use, naming the ones it can."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in SUPPORTED_SCHEMES:
        raise StoreUnavailable(
            redact(url),
            f"unsupported scheme {scheme or '(none)'!r}; supported: "
            "sqlite:///path/to/file.db, postgresql+psycopg://user@host:5432/db "
            "(password from PGPASSWORD)",
        )


def open_error(url: str, exc: SQLAlchemyError) -> StoreError:
    """A StoreUnavailable (exit 2, with a hint) when the database cannot be reached, does not
    exist or refuses the role's writes; any other failure stays a StoreError (a bug or a damaged store)."""
    text = reason(exc)
    if is_refusal(exc):  # a role without privileges, a read-only database or transaction
        return refused(url, exc)
    if not isinstance(exc, OperationalError):
        return StoreError(redact(url), text)
    hint = next((h for needle, h in _HINTS if needle in text.lower()), "check the store URL")
    return StoreUnavailable(redact(url), f"cannot connect: {text} ({hint})")
