"""kombu's ``filesystem://`` transport, with messages written atomically.

The stock transport creates the message file under its final name and then writes it. A
consumer in another process lists the folder, takes the file (a rename, which ignores the
writer's flock) and may read it before the bytes are there: an empty payload, a
``JSONDecodeError``, and a worker that stops with "Unrecoverable error". It happens as soon
as several processes publish and consume at once (two workers, each dispatching the next run
of a queue). Here the message is written under a name no consumer matches and renamed into
place, which is atomic within one folder, so a consumer sees a whole message or none.

Registered as the ``filesystem`` transport in config/settings/broker.py.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # The stubs name the message differently in kombu's two base classes (message, payload).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Consumers only take names ending in ".<queue>.msg".
        partial = f"{final}.partial"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = filesystem.Transport.global_state
