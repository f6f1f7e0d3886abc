"""A folder of price files, looked up by symbol.

The shipped folder (``canary/feeds/data``) has a ``manifest.json`` with each file's checksum,
clock and the instant it was recorded; every load verifies the checksum. A user's folder
(``--data DIR``, repeatable) needs no manifest: each ``<SYMBOL>.csv`` under it (subfolders
included) is found by name and its clock is inferred (a manifest of the same shape, if
present, is honoured: it declares a file's clock; a subfolder with a manifest.json of its own
is a library of its own, and is left out). Two files of the same name, in two
subfolders or two folders, are refused: neither may silently hide the other.
"""
import hashlib
import json
from pathlib import Path

from canary.errors import DataError, suggest

from .clocks import DEFAULT_CALENDAR
from .loading import load_csv

SHIPPED_DIR = Path(__file__).resolve().parent / "data"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _own_library(folder, path):
    """True if `path` is in a subfolder of `folder` with a manifest.json of its own: a library of
    its own (the shipped point-in-time data), not files of this one."""
    return any((parent / "manifest.json").exists() for parent in path.parents
               if parent != folder and parent.is_relative_to(folder))


class DataLibrary:
    """Price files of one folder, or of several (a list); `load(symbol)` returns a validated
    PriceSeries (memoised). Each folder is searched with its subfolders; a symbol found twice,
    in one folder or in two, is refused."""

    def __init__(self, folder=None, recorded_at=None):
        folders = folder if isinstance(folder, (list, tuple)) else [folder] if folder is not None else []
        self.folders = [Path(f) for f in folders] or [SHIPPED_DIR]
        self.folder = self.folders[0]
        self.recorded_at = recorded_at
        self.entries = {}
        for f in self.folders:
            for symbol, entry in self._scan(f).items():
                if symbol in self.entries:
                    raise DataError(f"two price files for symbol '{symbol}': {self.path(symbol)} and "
                                    f"{f / entry['path']}; rename or remove one, or leave its folder out of --data")
                # a later folder's files are kept by their full path (Path joins keep an absolute one)
                self.entries[symbol] = entry if f == self.folder else dict(entry, path=str(f / entry["path"]))
        self._loaded = {}

    @staticmethod
    def _scan(folder):
        """{symbol: entry} of one folder: its manifest.json's files, then every other <SYMBOL>.csv under it."""
        if not folder.is_dir():
            raise DataError(f"data folder {folder} does not exist")
        manifest = folder / "manifest.json"
        entries = {}
        if manifest.exists():
            try:
                entries = json.loads(manifest.read_text())["files"]
            except (ValueError, KeyError) as exc:
                raise DataError(f"{manifest}: unreadable manifest ({exc})") from None
        listed = {e["path"] for e in entries.values()}
        for path in sorted(folder.rglob("*.csv")):
            rel = path.relative_to(folder).as_posix()
            if rel in listed or _own_library(folder, path):
                continue
            if path.stem in entries:
                other = folder / entries[path.stem]["path"]
                raise DataError(f"two price files for symbol '{path.stem}': {other} and {path}; "
                                "rename or remove one, or give --data its subfolders one by one")
            entries[path.stem] = {"path": rel}
        return entries

    @property
    def where(self):
        """The folder(s), as messages name them."""
        return ", ".join(str(f) for f in self.folders)

    @property
    def shipped(self):
        return self.folder == SHIPPED_DIR

    def symbols(self):
        return sorted(self.entries)

    def path(self, symbol):
        if symbol not in self.entries:
            raise DataError(f"no price file for symbol '{symbol}' in {self.where}{suggest(symbol, self.entries)}")
        return self.folder / self.entries[symbol]["path"]

    def has_checksum(self, symbol):
        """True if the manifest records a checksum for `symbol`'s file, so `verify` can check it."""
        self.path(symbol)  # an unknown symbol is refused
        return bool(self.entries[symbol].get("sha256"))

    def verify(self, symbol):
        """None if the file matches its manifest checksum (or has none), else the problem."""
        expected = self.entries[symbol].get("sha256")
        path = self.path(symbol)
        if not path.exists():
            return f"{path}: missing"
        if expected and sha256(path) != expected:
            return f"{path}: checksum mismatch: the file changed since it was recorded"
        return None

    def check(self, symbol):
        """(problem or None, how it was checked): against the recorded checksum, or, for a file
        with none, by loading and validating it."""
        if self.has_checksum(symbol):
            return self.verify(symbol), "checksum matches"
        try:
            s = self.load(symbol)
        except DataError as exc:
            return str(exc), ""
        notes = s.report.lines()
        return None, (f"loads, {len(s.frame):,} bars closing {s.first.date()} to {s.last.date()}"
                      + (f"; {len(notes)} note(s): {notes[0]}{' ...' if len(notes) > 1 else ''}" if notes else ""))

    def load(self, symbol):
        if symbol not in self._loaded:
            problem = self.verify(symbol) if symbol in self.entries else None
            if problem:
                raise DataError(problem)
            entry = self.entries.get(symbol, {})
            self._loaded[symbol] = load_csv(
                self.path(symbol), symbol=symbol, clock=entry.get("clock"), interval=entry.get("interval"),
                exchange=entry.get("exchange") or DEFAULT_CALENDAR,
                recorded_at=self.recorded_at or entry.get("recorded_at"), labels_at=entry.get("labels"),
            )
        return self._loaded[symbol]
