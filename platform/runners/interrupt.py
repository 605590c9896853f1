"""Telling a user's Ctrl-C apart from a failure while Ray Train runs (it takes SIGINT itself)."""

from __future__ import annotations

import signal
import socket
import threading
from contextlib import suppress


class SigintWatch:
    """Notes whether SIGINT reached this process inside the block, whoever's handler took it.

    During `fit` Ray Train replaces the SIGINT handler with its own, which aborts the run and calls
    sys.exit; Ray's core worker turns that into `SystemExit(1)`. A handler of ours would never run,
    so the signal is read from Python's C-level wakeup fd instead. On leaving, the previous SIGINT
    handler is put back (Ray Train leaves its own installed). Main thread only; elsewhere a no-op.
    """

    def __init__(self) -> None:
        self.seen = False
        self._active = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> SigintWatch:
        if self._active:
            self._handler = signal.getsignal(signal.SIGINT)
            self._reader, self._writer = socket.socketpair()
            self._reader.setblocking(False)
            self._writer.setblocking(False)
            self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        return self

    def __exit__(self, *_: object) -> None:
        if not self._active:
            return
        signal.set_wakeup_fd(self._previous_fd)
        signal.signal(signal.SIGINT, self._handler)
        with suppress(BlockingIOError):
            while received := self._reader.recv(4096):  # one byte per signal: its number
                self.seen = self.seen or signal.SIGINT in received
        self._reader.close()
        self._writer.close()
