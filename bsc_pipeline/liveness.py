"""Whether a process that holds something (a lease, a pool slot) is still alive."""

from __future__ import annotations

import os


def pid_running(pid: int) -> bool:
    """Whether a process with this id exists on this host; a zombie (killed, not yet reaped by
    its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): it exists
