"""Worker processes end with the process that started them.

A process-pool worker waits for its next task on a pipe its parent feeds. When the parent is
killed (`kill`, `kill -9`, the kernel's out-of-memory killer) that pipe is never closed, since
a forked worker holds a copy of its other end: without a watch the worker would wait for ever,
or first finish a tear sheet for a run that no longer exists.
"""
import os
import threading
import time

POLL_SECONDS = 0.2


def end_with_parent(parent):
    """Pool initializer (``initargs=(os.getpid(),)``, the parent's id taken before the fork):
    exit this worker as soon as `parent` has gone, checked every POLL_SECONDS by a daemon
    thread (an orphan is adopted by another process, so its parent id changes). The id is the
    parent's own, not read in the worker, which may start after its parent was already killed."""
    def watch():
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
