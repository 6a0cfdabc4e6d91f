"""A run folder belongs to one run of one experiment, and one process at a time.

- ``claim(path)`` makes (or accepts) the folder of a new run: a missing or empty folder, or one that a
  gymlab run made (its config.yaml names an experiment) and that holds no finished or checkpointed run.
  A non-empty folder that is not ours is refused, so that a typo in ``run_dir=`` never overwrites a
  user's files. The folder is checked writable before any training.
- ``RunLock(path)`` holds ``.gymlab.lock`` while a process runs or resumes there: an exclusive
  ``flock`` on the file, which holds the holder's PID and host. The kernel drops the lock when its
  process dies, so a lock file left by a killed run is stale and simply taken over; a live holder
  makes the second process stop with one line naming it.
- ``discard(path, made)`` removes what a failed setup left of a folder that this process created.
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
from pathlib import Path

import yaml

from gymlab.runners.errors import FileSystemError, GymlabError

LOCK = ".gymlab.lock"


def is_gymlab_run(path: Path) -> bool:
    """True when ``path/config.yaml`` is a config that gymlab wrote (a mapping with an ``experiment``)."""
    try:
        saved = yaml.safe_load((Path(path) / "config.yaml").read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return False
    return isinstance(saved, dict) and "experiment" in saved


def check_writable(path: Path) -> None:
    """Create and delete a probe file in ``path``: a read-only or full file system fails now, not after training."""
    probe = Path(path) / f".gymlab-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"0" * 4096)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as e:
        try:
            probe.unlink()
        except OSError:
            pass
        raise FileSystemError("write in the run folder", path, e) from None


def claim(path: Path) -> bool:
    """Make or accept ``path`` as a new run's folder; returns True when this call created it."""
    path = Path(path)
    try:
        if path.exists() and not path.is_dir():
            raise GymlabError(f"run_dir {path} is a file, not a folder; give a new or empty folder")
        busy = holder(path)
        if busy is not None:
            raise GymlabError(_in_use(path, busy))
        if path.is_dir() and any(p.name != LOCK for p in path.iterdir()):
            if not is_gymlab_run(path):
                raise GymlabError(f"run_dir {path} is a non-empty folder that is not a gymlab run; "
                                  f"give a new or empty folder (nothing there was changed)")
            if (path / "summary.json").exists() or (path / "checkpoints" / "latest.pt").exists():
                raise GymlabError(f"run directory {path} already holds a run; use 'gymlab resume {path}' "
                                  f"or another run_dir")
        made = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
    except GymlabError:
        raise
    except OSError as e:
        raise FileSystemError("create the run folder", path, e) from None
    return made


def discard(path: Path, made: bool) -> None:
    """After a failed setup: remove the folder if this process made it (nothing of value is in it yet)."""
    if made:
        shutil.rmtree(path, ignore_errors=True)


class RunLock:
    """``with RunLock(run_dir):`` the folder is this process's until the block ends (or the process dies)."""

    def __init__(self, path: Path):
        self.path = Path(path) / LOCK
        self.fd = None

    def __enter__(self):
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as e:
                raise FileSystemError("create the lock file", self.path, e) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                who = _read(fd)
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise GymlabError(_in_use(self.path.parent, who)) from None
                raise FileSystemError("lock", self.path, e) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a file that its last holder unlinked while we opened it
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                os.unlink(self.path)  # while still holding it: no one can be holding it now but us
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None


def holder(path: Path) -> str | None:
    """Who holds ``path``'s lock ("pid N on HOST"), or None when no live process does (stale or no lock)."""
    try:
        fd = os.open(Path(path) / LOCK, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except OSError:
        return _read(fd)
    finally:
        os.close(fd)


def _in_use(path: Path, who: str) -> str:
    return (f"run folder {path} is in use by another gymlab process ({who}); wait for it to finish or stop it, "
            f"or use another run_dir")


def _read(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"
