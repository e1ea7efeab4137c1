"""CPU time of the stack's processes, read from /proc/<pid>/stat (utime + stime).

`./baton up` (devstack.py) writes $BATON_VAR_DIR/pids.json, {"temporal": pid, "worker": pid, "api": pid},
once the three are started, and removes it when it stops. The benchmark reads it to know whom to measure;
its own process (the driver, and for the bare run the bare worker too) is measured by os.getpid().
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

STACK_ROLES = ("temporal", "worker", "api")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def load_pids(path: Path) -> tuple[dict[str, int], str | None]:
    """The stack's pids that are alive, and why CPU figures are (partly) unavailable, if they are."""
    if not path.exists():
        return {}, f"{path} not found (start the stack with ./baton up, or pass --pids)"
    try:
        raw = json.loads(path.read_text())
        pids = {role: int(raw[role]) for role in STACK_ROLES if role in raw}
    except (ValueError, TypeError, OSError) as error:
        return {}, f"{path} unreadable: {error}"
    alive = {role: pid for role, pid in pids.items() if cpu_seconds(pid) is not None}
    missing = [role for role in STACK_ROLES if role not in alive]
    if missing:
        return alive, f"no live process for {', '.join(missing)} in {path}"
    return alive, None


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of one process (all its threads), in seconds; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: the fields after it follow the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds each named process spent between start() and stop()."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)
        self._before: dict[str, float] = {}
        self._started = 0.0

    def start(self) -> None:
        self._started = time.perf_counter()
        self._before = {role: s for role, pid in self.pids.items() if (s := cpu_seconds(pid)) is not None}

    def stop(self) -> tuple[dict[str, float], float]:
        """Milliseconds of CPU per role (roles whose process vanished are left out), and the wall seconds."""
        wall = time.perf_counter() - self._started
        spent = {}
        for role, pid in self.pids.items():
            after = cpu_seconds(pid)
            if after is not None and role in self._before:
                spent[role] = (after - self._before[role]) * 1000
        return spent, wall


def idle_rates(pids: dict[str, int], seconds: float = 1.0) -> dict[str, float]:
    """CPU milliseconds per second each process spends with no benchmark load (a reference for the figures)."""
    meter = CpuMeter(pids)
    meter.start()
    time.sleep(seconds)
    spent, wall = meter.stop()
    return {role: ms / wall for role, ms in spent.items()}
