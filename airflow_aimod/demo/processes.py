"""Child processes of the demo, recorded in a pid file so the next demo can clean up after an interrupted one.

``ProcessRecord`` starts each child in its own process group (and, on Linux, has it killed
when the demo process dies) and writes ``{name: {pid, started}}`` to a JSON file beside the
demo's logs. ``reap()`` stops every recorded group whose leader is still the process that was
recorded (same pid *and* start time, so a recycled pid is never hit) and empties the record.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any


class ProcessRecord:
    """Spawn, record and stop the demo's children; ``reap()`` what an earlier demo left running."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def spawn(self, name: str, args: Sequence[str], *, env: Mapping[str, str], log: IO[bytes] | IO[str],
              die_with_parent: bool = True) -> subprocess.Popen:
        """Start ``args`` in a new process group, output to ``log``, and record its pid."""
        proc = subprocess.Popen(list(args), env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_die_with_parent if die_with_parent else None)
        entries = self._read()
        entries[name] = {"pid": proc.pid, "started": start_time(proc.pid)}
        self._write(entries)
        return proc

    def forget(self, name: str) -> None:
        """Drop ``name`` from the record (it has been stopped)."""
        entries = self._read()
        if entries.pop(name, None) is not None:
            self._write(entries)

    def reap(self, grace: float = 10) -> list[str]:
        """Stop what an earlier demo recorded and left running (SIGINT, SIGTERM, then SIGKILL); return their names."""
        stale = {name: e["pid"] for name, e in self._read().items() if _same_process(e)}
        for sig in (signal.SIGINT, signal.SIGTERM):
            for pid in stale.values():
                signal_group(pid, sig)
            deadline = time.monotonic() + grace / 2
            while time.monotonic() < deadline and any(_alive(pid) for pid in stale.values()):
                time.sleep(0.2)
        for pid in stale.values():
            signal_group(pid, signal.SIGKILL)
        self._write({})
        return sorted(stale)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(entries, indent=2))


def start_time(pid: int) -> str:
    """The kernel's start time of ``pid`` (field 22 of /proc/PID/stat), or '' when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _same_process(entry: Mapping[str, Any]) -> bool:
    pid = entry.get("pid")
    return isinstance(pid, int) and _alive(pid) and start_time(pid) == entry.get("started")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = Path(f"/proc/{pid}/stat")
    try:
        return state.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to process group ``pgid``; a group that is gone is not an error."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_pid(pid: int) -> None:
    """SIGKILL one process; one that is gone is not an error."""
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def loopback_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with 127.0.0.1 and localhost added to NO_PROXY/no_proxy, so loopback calls never go to a proxy."""
    out = dict(env)
    for key in ("NO_PROXY", "no_proxy"):
        hosts = [h.strip() for h in out.get(key, "").split(",") if h.strip()]
        out[key] = ",".join(hosts + [h for h in ("127.0.0.1", "localhost") if h not in hosts])
    return out


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the demo process dies, even by SIGKILL (Linux)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the demo still stops its children on every exit but SIGKILL
