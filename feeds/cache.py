"""A local cache of fetched bars: one Parquet file per (feed, symbol, interval).

Where: the ``cache_dir`` argument, else ``$CANARY_CACHE_DIR``, else
``$XDG_CACHE_HOME/smallcap-canary``, else ``~/.cache/smallcap-canary``. Inside it each file is
``<feed>/<interval>/<symbol>.parquet``, the feed being ``yahoo`` or ``ccxt/<exchange id>`` and
the symbol percent-encoded (``BTC%2FUSDT``, ``^RUT``).

What a file holds: only bars that had closed when they were fetched, labelled as the source
labels them (``label``: the session date, or the UTC open instant) with their open, high, low,
close and volume; and, in the Parquet metadata, how to turn the labels into close instants
(clock, bar length, exchange calendar) and the instant the bars were recorded. Reading a file
runs the same validation as loading a CSV.

Safety: a write goes to a temporary file in the same folder, is flushed to disk, then renamed
over the old file, so a fetch that fails or is killed leaves the previous file byte for byte.
A file that cannot be read or fails validation is reported and left where it is, never deleted.
"""
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from canary.errors import DataError

from .layouts import PRICE_COLUMNS
from .loading import utc_instant
from .rawbars import RawBars
from .sources import shown_feed

FORMAT = 1
META_KEY = b"canary.bars"
SUFFIX = ".parquet"


def default_dir():
    """The cache folder when none is given (see the module docstring)."""
    if os.environ.get("CANARY_CACHE_DIR"):
        return Path(os.environ["CANARY_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "smallcap-canary"


def path_for(cache_dir, feed, symbol, interval):
    """The cache file of `symbol` at `interval` from `feed` under `cache_dir` (default: default_dir())."""
    root = Path(cache_dir) if cache_dir is not None else default_dir()
    return root / feed / quote(interval, safe="") / (quote(symbol, safe="^=.-_+") + SUFFIX)


def metadata(bars):
    """What a cache file records of `bars` besides the bars: how to read their labels, and when."""
    return {
        "format": FORMAT, "feed": bars.feed, "symbol": bars.symbol, "interval": bars.interval,
        "clock": bars.clock, "bar": None if bars.bar is None else bars.bar.isoformat(),
        "calendar": bars.calendar, "recorded_at": bars.recorded_at.isoformat(),
    }


def merge(old, new):
    """`new` laid over `old`: old bars labelled before new's first bar, then all of new.

    The first new bar normally repeats the last cached one (the fetch overlaps by one bar), so
    a bar revised since it was cached is replaced, never duplicated.
    """
    if old is None or new.raw.empty:
        return new if old is None else replace(old, recorded_at=max(old.recorded_at, new.recorded_at))
    for field in ("clock", "bar", "calendar"):
        if getattr(old, field) != getattr(new, field):
            raise DataError(
                f"{old.symbol}: the cached bars have {field} {getattr(old, field)} but the source now gives "
                f"{getattr(new, field)}; move the cache file away to fetch afresh"
            )
    keep = old.raw[old.raw["label"] < new.raw["label"].iloc[0]]
    return replace(new, raw=pd.concat([keep, new.raw], ignore_index=True))


def store(path, bars):
    """Validate `bars`, keep the closed ones and write them to `path` atomically.

    Returns (RawBars, PriceSeries) of what was written. Nothing is written if validation fails.
    """
    series = bars.series(f"{shown_feed(bars.feed)} {bars.symbol}")  # the download, not yet a file
    bars = bars.closed()
    table = pa.Table.from_pandas(bars.raw[["label", *PRICE_COLUMNS]], preserve_index=False)
    table = table.replace_schema_metadata({META_KEY: json.dumps(metadata(bars))})
    _write_atomically(path, table)
    series.path = Path(path)
    return bars, series


def _write_atomically(path, table):
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        # The rename itself is only durable once the folder's entry is on disk.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise DataError(f"{path}: cannot write the cache file ({exc.strerror or exc}); "
                        "any previous file is unchanged: check the cache folder (or set CANARY_CACHE_DIR)") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def read(path):
    """(RawBars, PriceSeries) of the cache file at `path`, validated.

    A file that cannot be read or fails validation raises a DataError naming it; the file is
    left untouched so that it can be inspected.
    """
    path = Path(path)
    try:
        table = pq.read_table(path)
        if META_KEY not in (table.schema.metadata or {}):
            raise ValueError("no smallcap-canary metadata")
        meta = json.loads(table.schema.metadata[META_KEY])
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT}")
        frame = table.to_pandas()
        missing = [c for c in ("label", *PRICE_COLUMNS) if c not in frame.columns]
        if missing:
            raise ValueError(f"missing column(s) {', '.join(missing)}")
        raw = pd.DataFrame({"label": pd.DatetimeIndex(frame["label"]).as_unit("ns")})
        for col in PRICE_COLUMNS:
            raw[col] = frame[col].to_numpy(dtype="float64")
        bars = RawBars(
            feed=meta["feed"], symbol=meta["symbol"], interval=meta["interval"], clock=meta["clock"],
            bar=None if meta["bar"] is None else pd.Timedelta(meta["bar"]), calendar=meta["calendar"],
            recorded_at=utc_instant(meta["recorded_at"], "recorded_at"), raw=raw,
        )
        series = bars.series(str(path))
    except DataError as exc:
        raise DataError(_unusable(path, str(exc).removeprefix(f"{path}").lstrip(": "))) from None
    except (OSError, pa.ArrowException, KeyError, TypeError, ValueError) as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        raise DataError(_unusable(path, f"{type(exc).__name__}: {first_line}")) from None
    series.path = path
    return bars, series


def _unusable(path, reason):
    return (f"{path}: unusable cache file ({reason}); it was left in place: "
            "move it away (or delete it) and fetch the symbol again")


def files(cache_dir=None):
    """Paths of the cache files under `cache_dir` (default: default_dir()), sorted."""
    root = Path(cache_dir) if cache_dir is not None else default_dir()
    if not root.is_dir():
        return []
    return sorted(root.rglob(f"*{SUFFIX}"))  # temporary files end in .tmp
