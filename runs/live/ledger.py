"""The forward test's ledger: one SQLite file (the standard library's sqlite3).

Schema version 1 (``meta.schema_version``); every instant is ISO UTC text, every amount in
the quote currency:

* ``meta(key, value)``: ``schema_version``, ``config`` (the configuration as JSON, its
  ``data.start`` the ledger's first bar), ``warmup`` (JSON {symbol: SHA-256 of its bars before
  the first bar}), ``created``;
* ``bars(run, close_time, seq, regime, value, cash, inputs, chain_sha256)``: each processed
  crypto bar close of each run (``rotation`` or the configured strategy's label, and
  ``btc_buy_hold``): the regime decided at that close, the portfolio value and cash;
  ``inputs`` (JSON {symbol: the first 16 hex digits of the SHA-256 of its row at that close:
  open, high, low, close, volume, and listed for a coin; an index's last session closed by
  then}), ``chain_sha256`` the SHA-256 of those chained to the previous bar's (so it covers
  every bar each decision saw, the warm-up included);
* ``positions(run, close_time, symbol, value)``: each position's value at that close;
* ``fills(run, seq, close_time, date, decided, symbol, side, size, price, value, fee)``: each
  fill, under the bar at whose close it is first known (``date``: when it filled);
* ``orders(run, seq, close_time, decided, symbol, side, size, status)``: each order once its
  final status is known.

One bar is one transaction: a crash or Ctrl-C leaves the ledger at the last complete bar.
One writer at a time: `Ledger.open` takes an exclusive lock on ``<ledger>.lock`` (flock) and
refuses in one line while another process holds it.
"""
import datetime
import fcntl
import json
import sqlite3
from pathlib import Path

from canary.errors import ConfigError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bars (run TEXT NOT NULL, close_time TEXT NOT NULL, seq INTEGER NOT NULL,
    regime TEXT, value REAL NOT NULL, cash REAL NOT NULL, inputs TEXT NOT NULL, chain_sha256 TEXT NOT NULL,
    PRIMARY KEY (run, close_time));
CREATE TABLE IF NOT EXISTS positions (run TEXT NOT NULL, close_time TEXT NOT NULL, symbol TEXT NOT NULL,
    value REAL NOT NULL, PRIMARY KEY (run, close_time, symbol));
CREATE TABLE IF NOT EXISTS fills (run TEXT NOT NULL, seq INTEGER NOT NULL, close_time TEXT NOT NULL,
    date TEXT NOT NULL, decided TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, size REAL NOT NULL,
    price REAL NOT NULL, value REAL NOT NULL, fee REAL NOT NULL, PRIMARY KEY (run, seq));
CREATE TABLE IF NOT EXISTS orders (run TEXT NOT NULL, seq INTEGER NOT NULL, close_time TEXT NOT NULL,
    decided TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, size REAL NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (run, seq));
"""


class Ledger:
    """An open ledger (and, for writing, its lock)."""

    def __init__(self, path, db, lock=None):
        self.path, self.db, self._lock = Path(path), db, lock

    @classmethod
    def open(cls, path, write=True):
        path = Path(path)
        if not write and not path.exists():
            raise ConfigError(f"{path}: no ledger there (start one with `canary paper`)")
        lock = None
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(path.with_name(path.name + ".lock"), "w")  # noqa: SIM115 (held until close)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                raise ConfigError(f"{path}: another `canary paper` is writing this ledger; "
                                  "wait for it to finish") from None
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.executescript(SCHEMA)
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise ConfigError(f"{path}: not a canary ledger ({exc})") from None
        if version is not None and int(version[0]) != SCHEMA_VERSION:
            db.close()
            raise ConfigError(f"{path}: ledger schema version {version[0]}, this canary reads {SCHEMA_VERSION}")
        return cls(path, db, lock)

    def close(self):
        self.db.close()
        if self._lock is not None:
            self._lock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- meta ---------------------------------------------------------------------------------
    def meta(self, key):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def start(self, config, warmup):
        with self.transaction():
            for key, value in (("schema_version", SCHEMA_VERSION), ("config", config), ("warmup", warmup),
                               ("created", datetime.datetime.now(datetime.UTC).isoformat())):
                self.db.execute("INSERT INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    # -- bars ---------------------------------------------------------------------------------
    def transaction(self):
        return _Transaction(self.db)

    def bars(self, run):
        return self.table("bars", run)

    def count(self, table, run):
        return self.db.execute(f"SELECT COUNT(*) FROM {table} WHERE run = ?", (run,)).fetchone()[0]

    def add_bar(self, run, close_time, seq, regime, value, cash, inputs, chain_sha, positions):
        self.db.execute("INSERT INTO bars VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (run, close_time, seq, regime, value, cash, json.dumps(inputs, sort_keys=True), chain_sha))
        self.db.executemany("INSERT INTO positions VALUES (?, ?, ?, ?)",
                            [(run, close_time, s, v) for s, v in positions.items()])

    def add_fill(self, run, seq, close_time, fill):
        self.db.execute("INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run, seq, close_time, fill["date"], fill["decided"], fill["symbol"], fill["side"],
                         fill["size"], fill["price"], fill["value"], fill["fee"]))

    def add_order(self, run, seq, close_time, order):
        self.db.execute("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (run, seq, close_time, order["decided"], order["symbol"], order["side"], order["size"],
                         order["status"]))

    def table(self, table, run):
        cursor = self.db.execute(f"SELECT * FROM {table} WHERE run = ? ORDER BY rowid", (run,))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (Ctrl-C included)."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, exc, tb):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
