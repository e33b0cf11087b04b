"""SMTP with credentials requires TLS: the password never crosses the wire in clear."""

from __future__ import annotations

import smtplib
import socket
import threading
from email.message import EmailMessage

import pytest
from dueprocess.services.notifications import SmtpSink


class PlainSmtpServer:
    """A minimal SMTP server without STARTTLS that records every command it receives."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.commands: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rwb") as f:
            def say(line: str) -> None:
                f.write(line.encode() + b"\r\n")
                f.flush()

            say("220 localhost ESMTP")
            in_data = False
            for raw in f:
                line = raw.decode().rstrip("\r\n")
                if in_data:
                    if line == ".":
                        in_data = False
                        say("250 queued")
                    continue
                verb = line.split(" ")[0].upper()
                self.commands.append(verb)
                if verb == "EHLO":
                    say("250-localhost")
                    say("250 AUTH PLAIN LOGIN")
                elif verb == "AUTH":
                    say("235 ok")
                elif verb == "DATA":
                    in_data = True
                    say("354 go on")
                elif verb == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 ok")

    def close(self) -> None:
        self.sock.close()


def message() -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@example.org", "b@example.org", "hi"
    m.set_content("hello")
    return m


def test_credentials_are_never_sent_to_a_server_without_starttls() -> None:
    server = PlainSmtpServer()
    try:
        sink = SmtpSink(f"smtp://user:secret@127.0.0.1:{server.port}")
        with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS"):
            sink._send(message())
        assert "AUTH" not in server.commands and "MAIL" not in server.commands
    finally:
        server.close()


def test_without_credentials_plain_smtp_still_delivers() -> None:
    server = PlainSmtpServer()
    try:
        SmtpSink(f"smtp://127.0.0.1:{server.port}")._send(message())
        server.thread.join(timeout=10)
        assert "DATA" in server.commands and "AUTH" not in server.commands
    finally:
        server.close()
