"""Where outputs may go, who may write them, and how they are published.

Every output of reddplus is written under a temporary name beside its target and published by one
rename, so a reader sees either the previous state or the complete new output, never a part:

* :func:`check_output_location` refuses an output folder that is an input's folder, contains an
  input, or lies inside an input that is itself a folder (publishing or ``--overwrite`` would
  delete or change it);
* :func:`atomic_dir` locks the target (``.NAME.lock`` beside it, an ``fcntl`` lock that dies with
  its process), stages the folder in ``.NAME.partial-PID-XXXX``, and publishes it with a
  no-replace rename (a target that appeared meanwhile is an error) or, with ``overwrite``, an
  atomic exchange with the old folder, which is deleted only once the new one is in place;
  leftovers of dead runs (a dead PID in their name) are removed, others reported;
* :func:`atomic_path` does the same for one file (no lock: a file is never assembled in place);
* :func:`request_interrupt` / :func:`check_not_interrupted`: a signal seen at any time (even
  one whose ``KeyboardInterrupt`` some library swallowed) stops every later publish.

Staged files and folders are created with the process's umask (``0o666`` / ``0o777`` masked), not
the ``0o600`` / ``0o700`` of :mod:`tempfile`, so published outputs have the modes a user expects.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from reddplus.errors import (OutputExistsError, OutputLocationError, OutputLockedError, ReddplusError, RunInterrupted,
                             StorageFullError)

log = logging.getLogger(__name__)

_PARTIAL = "partial"
_ASIDE = "old"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)-[0-9a-f]+$")


# ------------------------------------------------------------------------------------- interruption
_interrupted = threading.Event()
_signum: list[int] = []


def request_interrupt(signum: int) -> None:
    """Record that the process received ``signum``: from now on, nothing is published."""
    _signum[:] = [int(signum)]
    _interrupted.set()


def clear_interrupt() -> None:
    """Forget a recorded signal (the command line calls it when a command starts)."""
    _signum.clear()
    _interrupted.clear()


def interrupt_requested() -> int | None:
    """The signal number recorded by :func:`request_interrupt`, or None."""
    return _signum[0] if _interrupted.is_set() and _signum else None


def check_not_interrupted() -> None:
    """Raise :class:`~reddplus.errors.RunInterrupted` when a signal was recorded (before any publish)."""
    signum = interrupt_requested()
    if signum is not None:
        raise RunInterrupted(signum)


# ------------------------------------------------------------------------------------- location
def check_output_location(out: str | os.PathLike, inputs: Mapping[str, os.PathLike] | Iterable[os.PathLike]) -> Path:
    """Refuse an output folder where publishing or ``--overwrite`` could destroy an input.

    Refused when the output (resolved, symlinks followed):

    * is an input, or the folder of an input file (``--out`` the project's own folder);
    * contains an input (``--out`` a parent of the project folder: ``--overwrite`` deletes it);
    * lies inside an input that is itself a folder (a FileGDB, a folder of masks).

    An output inside the folder of an input *file* (``project/run1`` beside ``project/fcc.tif``)
    is allowed: publishing ``run1`` only ever replaces ``run1``.

    Parameters
    ----------
    out : path
        The output folder (or file).
    inputs : mapping key -> path, or iterable of paths
        Every input (``ProjectConfig.input_files()`` for a project; the path arguments of a
        single-file command). Keys name the input in the message.

    Returns
    -------
    Path
        ``out`` resolved.

    Raises
    ------
    OutputLocationError
        Naming the output and the input.
    """
    items = list(inputs.items()) if isinstance(inputs, Mapping) else [(str(p), p) for p in inputs]
    target = Path(out).resolve()
    for key, p in items:
        if p is None:
            continue
        src = Path(p).resolve()
        named = f"{key} ({src})" if str(key) != str(p) else str(src)
        if src.is_dir():
            if target == src or _inside(target, src):
                raise OutputLocationError(f"output {target} lies inside the input folder {named}: "
                                          "choose an output folder outside the inputs")
            if _inside(src, target):
                raise OutputLocationError(f"output {target} contains the input {named}: replacing it would "
                                          "delete the input; choose another output folder")
            continue
        if target == src:
            raise OutputLocationError(f"output {target} is the input {named}")
        if target == src.parent:
            raise OutputLocationError(f"output {target} is the folder of the input {named}: replacing it "
                                      "would delete the inputs; choose a new folder (e.g. a sibling)")
        if _inside(src, target):
            raise OutputLocationError(f"output {target} contains the input {named}: replacing it would "
                                      "delete the input; choose another output folder")
    return target


def _inside(path: Path, folder: Path) -> bool:
    """``path`` lies strictly inside ``folder`` (both resolved)."""
    return path != folder and folder in path.parents


# ------------------------------------------------------------------------------------- modes
def _make_dir(path: Path) -> None:
    os.mkdir(path, 0o777)           # the umask applies, as for any folder a user creates


def _make_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def _unique(target: Path, kind: str, make) -> Path:
    for _ in range(100):
        p = target.parent / f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            make(p)
            return p
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a unique {kind} name beside {target}")


def stage_dir(target: str | os.PathLike) -> Path:
    """A new, empty staging folder beside ``target`` (``.NAME.partial-PID-XXXX``, mode from the umask).

    Its name carries this process's PID, so a later run can tell a dead run's leftover.
    """
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    return _unique(target, _PARTIAL, _make_dir)


# ------------------------------------------------------------------------------------- renames
_libc = None
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """Linux ``renameat2``; False when the system or the filesystem does not offer it."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.renameat2  # noqa: B018 (glibc >= 2.28)
        except (OSError, AttributeError):
            _libc = False
    if _libc is False:
        return False
    rc = _libc.renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; FileExistsError when ``dst`` exists (atomically where the OS can)."""
    if _renameat2(src, dst, _RENAME_NOREPLACE):
        return
    if src.is_dir():
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "exists", str(dst))
        os.rename(src, dst)
    else:
        os.link(src, dst)            # fails when dst exists
        os.unlink(src)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


# ------------------------------------------------------------------------------------- lock
class OutputLock:
    """An exclusive ``fcntl.flock`` on ``.NAME.lock`` beside an output (released when the process dies).

    The lock file holds the holder's PID. It is removed on release; a run killed with SIGKILL
    leaves it unlocked, and the next run takes and removes it.
    """

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target).absolute()
        self.path = self.target.parent / f".{self.target.name}.lock"
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        self.target.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise OutputLockedError(f"{self.target} is being written by another run (PID {holder}, lock "
                                        f"{self.path}); wait for it to finish or choose another output") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:            # not a file its previous holder unlinked between our open and flock
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)    # while still holding it: a waiting run then re-opens a new file
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_leftovers(target: str | os.PathLike, *, keep: Iterable[os.PathLike] = ()) -> list[str]:
    """Remove the staging and set-aside folders that dead runs left beside ``target``.

    Call it holding the target's :class:`OutputLock`. A leftover ``.NAME.partial-PID-XXXX`` or
    ``.NAME.old-PID-XXXX`` whose PID is not alive is removed, except that a set-aside previous
    output is renamed back when the target is missing (the run died between the two renames of
    an overwrite). Leftovers of a live process, or without a PID in their name, are reported (log
    warning) and left alone.

    Returns
    -------
    list of str
        What was done, one line per leftover.
    """
    target = Path(target).absolute()
    keep_set = {Path(k).absolute() for k in keep}
    done = []
    if not target.parent.is_dir():
        return done
    prefix = f".{target.name}."
    for p in sorted(target.parent.iterdir()):
        if not p.name.startswith(prefix) or p in keep_set or p.name == f".{target.name}.lock":
            continue
        rest = p.name[len(prefix):]
        if not rest.startswith((f"{_PARTIAL}-", f"{_ASIDE}-")):
            continue
        m = _LEFTOVER.match(p.name)
        if m is None or m["name"] != target.name:
            done.append(f"left {p}: a leftover of an unknown run (no PID in its name); remove it by hand")
            log.warning(done[-1])
            continue
        pid = int(m["pid"])
        if _alive(pid):
            done.append(f"left {p}: process {pid} is alive")
            log.warning(done[-1])
            continue
        if m["kind"] == _ASIDE and not os.path.lexists(target):
            os.rename(p, target)
            done.append(f"restored {target} from {p} (a run died while replacing it)")
        else:
            _remove(p)
            done.append(f"removed {p} (left by dead process {pid})")
        log.warning(done[-1])
    return done


# ------------------------------------------------------------------------------------- full disk
#: free space [bytes] below which a failed write is taken for a full device
FULL_BELOW_BYTES = 1 << 20


def _storage_full(err: BaseException, folder: Path) -> bool:
    """Whether ``err`` (or an exception it chains) is a full device, or the device of ``folder`` is full.

    GDAL reports a full disk as a generic write failure (libtiff prints the ENOSPC), so the free
    space of the output's device, measured before the staging folder is removed, decides too.
    """
    seen, e = set(), err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(m in str(e).lower() for m in ("no space left", "disk is full", "disk full")):
            return True
        e = e.__cause__ or e.__context__
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < FULL_BELOW_BYTES


def _failed(err: BaseException, target: Path, stage: Path | None = None) -> BaseException | None:
    """The :class:`StorageFullError` to raise instead of ``err`` when the device is full, else None.

    Besides I/O errors, a reddplus error about a file inside the staging folder counts: GDAL may
    report a failed write only when the half-written raster is read back.
    """
    if not isinstance(err, Exception):
        return None
    if isinstance(err, ReddplusError):
        where = getattr(err, "path", None)
        if stage is None or where is None or not str(where).startswith(str(stage)):
            return None
    if _storage_full(err, target.parent):
        return StorageFullError(f"no space left on the device holding {target.parent}: {target.name} could not be "
                                f"written and nothing was published; free some space and run again ({err})")
    return None


# ------------------------------------------------------------------------------------- publish
def _publish_dir(stage: Path, target: Path, overwrite: bool) -> None:
    check_not_interrupted()
    if not overwrite or not os.path.lexists(target):
        try:
            _rename_noreplace(stage, target)
        except FileExistsError:
            raise OutputExistsError(f"{target} appeared while this run was writing it (another run?); nothing "
                                    f"was replaced; pass --overwrite to replace it") from None
        return
    if not target.is_dir() or target.is_symlink():
        raise OutputExistsError(f"{target} exists and is not a folder; remove it or choose another output")
    if _renameat2(stage, target, _RENAME_EXCHANGE):
        old = stage                              # the stage now holds the previous output
    else:
        old = _unique(target, _ASIDE, lambda p: None)
        os.rename(target, old)
        os.rename(stage, target)
    _remove(old)


@contextmanager
def atomic_dir(path: str | os.PathLike, *, overwrite: bool = False, stage: Path | None = None) -> Iterator[Path]:
    """Yield a staging folder beside ``path``; it becomes ``path`` only when the block succeeds.

    * The target is locked for the whole block (:class:`OutputLock`): a second run into the same
      folder fails at once with :class:`~reddplus.errors.OutputLockedError` naming it.
    * Without ``overwrite`` an existing target is refused up front, and a target that appeared
      meanwhile is refused at publish time (no-replace rename): nothing is replaced.
    * With ``overwrite`` the new folder is exchanged with the old one atomically (``renameat2``;
      elsewhere: the old one renamed aside, then the new one in place) and the old one deleted.
    * On any exception, or after a signal (:func:`request_interrupt`), the staging folder is
      removed and the target left as it was.
    * Leftovers of dead runs beside the target are cleaned first (:func:`clean_stale_leftovers`).

    Parameters
    ----------
    stage : Path, optional
        A staging folder made by the caller with :func:`stage_dir` (e.g. filled before the run).
    """
    path = Path(path).absolute()
    lock = OutputLock(path)
    try:
        lock.acquire()
        clean_stale_leftovers(path, keep=[stage] if stage is not None else ())
        if os.path.lexists(path) and not overwrite:
            raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
        tmp = stage if stage is not None else stage_dir(path)
    except BaseException as err:
        full = _failed(err, path)
        if stage is not None:
            _remove(stage)
        lock.release()
        if full is not None:
            raise full from err
        raise
    try:
        yield tmp
        _publish_dir(tmp, path, overwrite)
    except BaseException as err:
        full = _failed(err, path, tmp)  # measured before the staging folder frees its space
        _remove(tmp)
        if full is not None:
            raise full from err
        raise
    finally:
        lock.release()


@contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it becomes ``path`` only when the block succeeds.

    Without ``overwrite`` an existing file is refused up front, and one that appeared meanwhile at
    publish time. The temporary file exists (empty, mode from the umask) when the block starts.
    """
    path = Path(path)
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix or path.suffix or ".tmp"
    tmp = None
    for _ in range(100):
        cand = path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"
        try:
            _make_file(cand)
            tmp = cand
            break
        except FileExistsError:
            continue
    if tmp is None:
        raise FileExistsError(f"cannot create a temporary file beside {path}")
    try:
        try:
            yield tmp
        except BaseException as err:
            full = _failed(err, path)
            if full is not None:
                raise full from err
            raise
        check_not_interrupted()
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                _rename_noreplace(tmp, path)
            except FileExistsError:
                raise OutputExistsError(f"{path} appeared while it was being written; nothing was replaced; "
                                        "pass overwrite=True (--overwrite) to replace it") from None
    finally:
        for p in (tmp, Path(str(tmp) + ".aux.xml")):
            if os.path.lexists(p):
                p.unlink()
