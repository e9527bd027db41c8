"""The embedded profile's broker: kombu's filesystem transport, each message written whole.

kombu 5.7's filesystem transport creates a message's file under its final name and only
then writes it. A worker polling the folder (every 0.1 s here) can take the file in that
gap, read nothing, fail to decode it and stop ("Unrecoverable error: JSONDecodeError"),
and the message is gone: seen twice in a row by bench p (single submits 0.25 s apart,
CPU busy). Here a message is written under a name the reader skips and renamed into
place, which is atomic within one folder, so a reader sees a whole message or none.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's filesystem Channel already names this parameter unlike its base class does;
    # whichever name is chosen, mypy sees one of the two disagree.
    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:  # type: ignore[override]
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # The reader takes only "<stamp>_<uuid>.<queue>.msg"; a leading dot and a
        # trailing ".part" keep the half-written file out of its listing's matches.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
