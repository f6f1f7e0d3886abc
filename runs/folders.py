"""Run folders: unique, and never seen half-written.

A run's files are written into a hidden temporary folder beside the final one
(``.<name>.<random>.partial``) and renamed into place only when every file is complete, so
two runs started in the same second get two folders, and a run interrupted (Ctrl-C, an error)
leaves no run folder at all: the temporary one is removed.
"""
import datetime
import errno
import os
import secrets
import shutil
from pathlib import Path

from canary.errors import CanaryError, ConfigError


def check_name(name):
    """Refuse a --name that is not one plain folder name: a run lives directly under --out."""
    if not name or name in (".", "..") or "/" in name or os.sep in name or (os.altsep and os.altsep in name):
        raise ConfigError(f"--name {name}: give a plain folder name (no '/'), e.g. --name btc-2022; "
                          "the parent folder is --out")
    if name.startswith("."):
        raise ConfigError(f"--name {name}: a name may not start with '.' (kept for the hidden partial folders)")


class RunFolder:
    """The folder of one new run under `parent`: `name`, or ``run-<UTC time>`` (``-2``, ``-3``...
    when taken). An existing named folder is refused before any work, unless `overwrite`.

    Use as a context manager: ``with RunFolder(...) as tmp:`` write into `tmp`; on a clean
    exit the files appear at ``.path`` in one rename; on an exception `tmp` is removed.
    """

    def __init__(self, parent, name=None, overwrite=False, keep_on=()):
        if name is not None:
            check_name(name)
        self.parent = Path(parent)
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {self.parent}: cannot create it ({exc.strerror or exc})") from None
        if not os.access(self.parent, os.W_OK | os.X_OK):
            raise ConfigError(f"--out {self.parent}: not writable")
        self.name, self.overwrite = name, overwrite
        self.base = name or datetime.datetime.now(datetime.UTC).strftime("run-%Y%m%d-%H%M%S")
        if name and (self.parent / name).exists() and not overwrite:
            raise ConfigError(f"--name {name}: {self.parent / name} exists; use --overwrite to replace it")
        self.path = self.parent / self.base  # where it is expected; final once published
        self._tmp = None
        self.keep_on = keep_on  # exceptions after which the partial folder is kept, to be resumed

    @classmethod
    def resume(cls, partial, keep_on=()):
        """The run of a partial folder kept by an earlier run (``.<name>.<random>.partial``):
        writing continues in it, and it is published as that run would have been."""
        partial = Path(partial)
        if not (partial.is_dir() and partial.name.startswith(".") and partial.name.endswith(".partial")):
            raise ConfigError(f"--resume {partial}: not a kept partial run folder (.<name>.<random>.partial)")
        run = cls(partial.parent, keep_on=keep_on)
        run.base = partial.name[1:].rsplit(".", 2)[0]
        run.path = run.parent / run.base
        run._tmp = partial
        return run

    def _hidden(self, kind):
        """A new hidden folder beside the run's, with the usual permissions (mkdtemp's are 0700)."""
        while True:
            path = self.parent / f".{self.base}.{secrets.token_hex(4)}.{kind}"
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue

    def __enter__(self):
        if self._tmp is None:
            self._tmp = self._hidden("partial")
        return self._tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, self.keep_on):
            return False
        if exc_type is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            return False
        self.path = self._publish(self._tmp)
        return False

    def _publish(self, tmp):
        if self.name and self.overwrite and self.path.exists():
            old = self._hidden("replaced")
            os.rename(self.path, old / "run")
            os.rename(tmp, self.path)
            shutil.rmtree(old, ignore_errors=True)
            return self.path
        n = 1
        while True:
            target = self.parent / (self.base if n == 1 else f"{self.base}-{n}")
            if not target.exists():
                try:
                    # fails on a folder another run has just filled (never empty): then try the next name
                    os.rename(tmp, target)
                    return target
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
            if self.name:
                raise CanaryError(f"--name {self.name}: {target} appeared during the run; "
                                  f"this run's files are in {tmp}")
            n += 1
