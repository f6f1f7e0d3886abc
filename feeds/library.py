"""A folder of price files, looked up by symbol.

The shipped folder (``canary/feeds/data``) has a ``manifest.json`` with each file's checksum,
clock and the instant it was recorded; every load verifies the checksum. A user's folder
(``--data DIR``) needs no manifest: each ``<SYMBOL>.csv`` under it is found by name and its
clock is inferred (a manifest of the same shape, if present, is honoured). Two files of the
same name in different subfolders are refused: neither may silently hide the other.
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


class DataLibrary:
    """Price files of one folder; `load(symbol)` returns a validated PriceSeries (memoised)."""

    def __init__(self, folder=None, recorded_at=None):
        self.folder = Path(folder) if folder is not None else SHIPPED_DIR
        if not self.folder.is_dir():
            raise DataError(f"data folder {self.folder} does not exist")
        self.recorded_at = recorded_at
        manifest = self.folder / "manifest.json"
        self.entries = {}
        if manifest.exists():
            try:
                self.entries = json.loads(manifest.read_text())["files"]
            except (ValueError, KeyError) as exc:
                raise DataError(f"{manifest}: unreadable manifest ({exc})") from None
        listed = {e["path"] for e in self.entries.values()}
        for path in sorted(self.folder.rglob("*.csv")):
            rel = path.relative_to(self.folder).as_posix()
            if rel in listed:
                continue
            if path.stem in self.entries:
                other = self.folder / self.entries[path.stem]["path"]
                raise DataError(f"two price files for symbol '{path.stem}': {other} and {path}; "
                                "rename or remove one")
            self.entries[path.stem] = {"path": rel}
        self._loaded = {}

    @property
    def shipped(self):
        return self.folder == SHIPPED_DIR

    def symbols(self):
        return sorted(self.entries)

    def path(self, symbol):
        if symbol not in self.entries:
            raise DataError(f"no price file for symbol '{symbol}' in {self.folder}{suggest(symbol, self.entries)}")
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
                recorded_at=self.recorded_at or entry.get("recorded_at"),
            )
        return self._loaded[symbol]
