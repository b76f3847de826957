"""A real SMTP server's handler that keeps what it accepts (aiosmtpd)."""

from __future__ import annotations

from typing import Any


class Inbox:
    """aiosmtpd handler keeping each message it accepts (plain SMTP, for the daemon's e-mail)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"
