"""A small multipart/form-data reader for /images/edits (the stdlib's `cgi` is gone).

Bodies hold up to sixteen 10 MB files, so parts are cut out of the body with `bytes.find`
rather than fed line by line through `email`'s parser; `email` only reads the headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import HTTP

MULTIPART = "multipart/form-data"


class MultipartError(ValueError):
    """The body does not parse as multipart/form-data."""


@dataclass(frozen=True)
class Part:
    name: str
    # None for an ordinary field; a file part carries a file name (possibly empty).
    filename: str | None
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Form:
    parts: list[Part] = field(default_factory=list)

    def fields(self) -> dict[str, str]:
        """Text fields by name (the last one wins, like most servers)."""
        return {p.name: p.text for p in self.parts if p.filename is None}


def _header(name: str, value: str) -> Message:
    message = Message()
    message[name] = value
    return message


def is_multipart(content_type: str | None) -> bool:
    return _header("Content-Type", content_type or "").get_content_type() == MULTIPART


def parse(content_type: str, body: bytes) -> Form:
    boundary = _header("Content-Type", content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise MultipartError("the multipart body has no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    # The first delimiter may follow a preamble; every later one starts a new line.
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("the multipart body has no parts")
    parts: list[Part] = []
    position = start + len(delimiter)
    while True:
        if body.startswith(b"--", position):
            return Form(parts)
        if not body.startswith(b"\r\n", position):
            raise MultipartError("a multipart delimiter is not followed by a line break")
        end = body.find(b"\r\n" + delimiter, position + 2)
        if end < 0:
            raise MultipartError("the multipart body is cut short")
        parts.append(_part(body[position + 2 : end]))
        position = end + 2 + len(delimiter)


def _part(raw: bytes) -> Part:
    head, separator, content = raw.partition(b"\r\n\r\n")
    if not separator:
        # A part with no headers at all starts with the blank line itself.
        if not raw.startswith(b"\r\n"):
            raise MultipartError("a multipart part has no header/body separator")
        head, content = b"", raw[2:]
    headers = BytesHeaderParser(policy=HTTP).parsebytes(head + b"\r\n\r\n")
    disposition = headers.get("Content-Disposition", "")
    parsed = _header("Content-Disposition", str(disposition))
    name = parsed.get_param("name", header="content-disposition")
    if parsed.get_content_disposition() != "form-data" or not isinstance(name, str):
        raise MultipartError("a multipart part is not form-data with a name")
    return Part(name, parsed.get_filename(), content)
