"""CPU time of the benchmarks' processes, read from ``/proc`` (Linux): what a figure cost the
machine, so that a rate can be set against the cores there are."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def own_cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """CPU time (user and system) of this process so far (``RUSAGE_CHILDREN``: of its children
    that ended and were waited for)."""
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


def tree_cpu_seconds(root: int) -> float:
    """CPU time of process ``root`` and of every process below it: the live ones' own time plus
    the time of the ended children each of them reaped (0 where ``/proc`` cannot be read)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, int] = {}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return 0.0
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        used[pid] = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    total = 0
    for pid, ticks in used.items():
        ancestor = pid
        while ancestor not in (root, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root:
            total += ticks
    return total / tick


def postmaster_pid(data_directory: Path) -> int | None:
    """The PostgreSQL server's postmaster for this data directory (None when it is not running)."""
    try:
        return int((data_directory / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
