"""One run per checkout, one training per model: exclusive locks that name their holder.

The checkout lock is DVC's own, `.dvc/tmp/lock` (an fcntl lock, taken through zc.lockfile).
`dvc repro` holds it from start to end, except while a stage's command runs: then it notes
the stage's deps and outs with its PID in `.dvc/tmp/rwlock`. A pipeline holds the same file
for its whole run and counts those notes as a holder too, so it and `dvc repro` keep each
other out without a lock of ours beside DVC's. While a pipeline holds it, its own DVC calls
go through `dvc_repo`, which knows the lock is already taken.

The kernel drops an fcntl lock when its holder dies, even by kill -9; the note a holder writes
into the file (PID, since when, what) and clears on release tells the next one that a holder
died holding it. Linux and macOS (fcntl); DVC's `core.hardlink_lock` (for NFS) is another
mechanism, not this one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

MARK = "ocrpipe"  # DVC notes " PID"; ours " PID ocrpipe SINCE WHAT"


class Busy(RuntimeError):
    """Someone else holds the lock; the message names them and what to do."""


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    since: str
    alive: bool
    ours: bool  # noted by ocrpipe (cleared on release), not by DVC

    def __str__(self) -> str:
        gone = "" if self.alive else ", no longer running"
        return f"PID {self.pid} ({self.command}, since {self.since}{gone})"


def read_holder(path: Path) -> Holder | None:
    """The holder noted in a lock file, described from the note and the process table."""
    try:
        parts = path.read_text(encoding="utf-8", errors="replace").split(maxsplit=3)
        pid = int(parts[0])
    except (OSError, IndexError, ValueError):
        return None
    ours = len(parts) == 4 and parts[1] == MARK
    command, since = (parts[3].strip(), parts[2]) if ours else ("unknown command", "unknown")
    try:
        process = psutil.Process(pid)
        if not ours:
            command = _short_command(process.cmdline())
            since = datetime.fromtimestamp(process.create_time()).isoformat(timespec="seconds")
        alive = True
    except psutil.Error:
        alive = False
    return Holder(pid, command, since, alive, ours)


def _short_command(argv: list[str]) -> str:
    """`dvc repro` for ['/x/.venv/bin/python', '/x/.venv/bin/dvc', 'repro']."""
    if argv and Path(argv[0]).name.startswith("python") and len(argv) > 1:
        argv = argv[1:]
    return " ".join([Path(argv[0]).name, *argv[1:]]) if argv else "unknown command"


class RunLock:
    """An exclusive fcntl lock on `path`, noting who holds it; `what` names it in messages.

    also_held_by: asked once the file is locked; a holder it names (a str) makes the lock
    count as taken after all (see hold_checkout)."""

    def __init__(self, path: Path, what: str, also_held_by: Callable[[], str | None] | None = None):
        self.path, self.what, self.also_held_by, self._fd = Path(path), what, also_held_by, None

    def acquire(self, command: str, wait: bool = False, say: Callable[[str], None] = print) -> None:
        """Take the lock, or raise Busy naming the holder; with wait, wait for it (said once)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        waiting = False
        while (holder := self._try(fd)) is not None:
            if not wait:
                os.close(fd)
                raise Busy(f"{self.what} is in use by {holder}")
            if not waiting:
                say(f"waiting for {self.what}: in use by {holder}")
                waiting = True
            time.sleep(1)
        left = read_holder(self.path)
        if left and left.ours and left.pid != os.getpid():
            say(f"{self.what}: taking over from {left}, which ended without releasing it")
        since = datetime.now().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f" {os.getpid()} {MARK} {since} {command}\n".encode(), 0)
        self._fd = fd

    def _try(self, fd: int) -> str | None:
        """Lock fd; None when done, else who holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(self.path)
            if holder and not holder.alive:  # forked children of a dead holder keep its lock
                return f"{holder}; a process it started still holds the lock"
            return str(holder or "another process")
        other = self.also_held_by() if self.also_held_by else None
        if other:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return other

    def release(self) -> None:
        """Clear the note (a note left behind means its holder died) and unlock."""
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    @contextlib.contextmanager
    def held(self, command: str, wait: bool = False, say: Callable[[str], None] = print) -> Iterator[None]:
        self.acquire(command, wait, say)
        try:
            yield
        finally:
            self.release()


# Checkouts this process holds, with how many holds are open (a pipeline's subflows hold it again).
_held: dict[Path, int] = {}


def checkout_of(path: Path) -> Path | None:
    """The DVC repository (a folder with .dvc/) holding path, as DVC finds it."""
    return next((folder for folder in (path, *path.parents) if (folder / ".dvc").is_dir()), None)


def checkout_lock_path(root: Path) -> Path:
    return Path(root) / ".dvc" / "tmp" / "lock"  # DVC's repository lock


@contextlib.contextmanager
def hold_checkout(root: Path, command: str, wait: bool = False, say: Callable[[str], None] = print):
    """Hold the checkout (DVC's lock) for a whole run: `dvc repro`, another pipeline or
    `ocrpipe train` meet it. Re-entrant within this process; a no-op inside a `dvc repro`
    stage command, whose `dvc repro` already holds it."""
    root = checkout_of(Path(root).resolve())
    if root is None:  # not in a DVC repository: nothing to share with dvc (the model has its own lock)
        yield
        return
    if root in _held:
        _held[root] += 1
        try:
            yield
        finally:
            _held[root] -= 1
        return
    if os.environ.get("DVC_STAGE") and Path(os.environ.get("DVC_ROOT", "")).resolve() == root:
        yield
        return
    lock = RunLock(checkout_lock_path(root), f"the checkout {root}", also_held_by=lambda: dvc_stage_running(root))
    try:
        lock.acquire(command, wait, say)
    except Busy as busy:
        raise Busy(f"{busy}; --wait waits for it") from None
    _held[root] = 1
    try:
        yield
    finally:
        del _held[root]
        lock.release()


def dvc_stage_running(root: Path) -> str | None:
    """A DVC command running a stage: `dvc repro` lets go of .dvc/tmp/lock while a stage's
    command runs, and notes the stage's deps and outs with its PID in .dvc/tmp/rwlock."""
    path = root / ".dvc" / "tmp" / "rwlock"
    try:
        noted = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return f"a DVC command ({path} is being written)"
    infos = [*noted.get("write", {}).values(), *(i for infos in noted.get("read", {}).values() for i in infos)]
    for info in infos:
        pid = int(info["pid"])
        if pid == os.getpid():
            continue
        try:
            since = datetime.fromtimestamp(psutil.Process(pid).create_time()).isoformat(timespec="seconds")
        except psutil.Error:
            continue  # a dead one: DVC removes it itself
        return str(Holder(pid, _short_command(info["cmd"].split()), since, alive=True, ours=False))
    return None


@contextlib.contextmanager
def dvc_repo(root: Path):
    """A DVC Repo for one operation; where this process holds the checkout, one that does not
    lock again (a second flock on the file, even in this process, would be refused)."""
    from dvc.lock import LockNoop
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        if Path(repo.root_dir).resolve() in _held:
            repo.lock = LockNoop()
        yield repo
