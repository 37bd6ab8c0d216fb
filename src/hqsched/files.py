"""Atomic file writes (base layer: imports nothing of hqsched).

Results are written through a temporary file in the same directory and renamed
into place, so a crash, kill -9 or Ctrl-C never leaves a half-written file:
a reader sees the old content or the new, and a rerun resumes from what is
complete.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask; the
temporary file is given the mode any new file of the user gets (0666 minus
the umask: 0644 under the usual umask 022) before it is renamed, so a shared
report directory or a web server can read what hqsched writes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def new_file_mode() -> int:
    """The permission bits ``open()`` gives a new file: 0666 minus the process umask."""
    mask = _umask()
    return 0o666 & ~mask


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc);
    elsewhere set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temporary(path: Path) -> tuple[int, str]:
    """A temporary file beside ``path`` (``.<name>.<random>.tmp``), with the mode of a new
    file (``new_file_mode``): (open descriptor, its path). An OSError names ``path``."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # name the target, never the temporary file
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        os.fchmod(fd, new_file_mode())
    except OSError:
        pass  # a file system without modes (e.g. some mounts): keep mkstemp's
    return fd, tmp


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename (atomic on POSIX)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temporary(path)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
