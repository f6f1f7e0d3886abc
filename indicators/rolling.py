"""Rolling windows over whole-history arrays, the building blocks of the signal functions.

Every function takes an array whose first axis is time (bars; further axes, say coins, are
carried along) and returns an array of the same shape whose row ``i`` depends only on rows
``i - window + 1 .. i``; rows before the first full window are NaN. The arithmetic of a row
does not depend on how long the array is: a sum is added up in time order, one shifted copy
of the array at a time (``window`` vectorised operations, no per-bar Python). So the value of
a bar is the same whether it is computed over the whole history (an indicator's ``once``, the
screening engine) or over the last few bars only (an indicator's ``next``), bit for bit, and
no row can see a later one.
"""
import numpy as np

NaN = np.nan
CHUNK = 4096   # bars per slice of the median (bounds the memory of its window copies)


def _empty(x):
    return np.full(x.shape, NaN)


def shift(x, periods):
    """`x` delayed by `periods` bars (row i holds row i - periods); NaN before the first."""
    x = np.asarray(x, dtype=float)
    out = _empty(x)
    if periods < len(x):
        out[periods:] = x[:len(x) - periods]
    return out


def _rolling(x, window, combine):
    """`combine` (a numpy ufunc) over the last `window` rows, in time order (NaN if any is NaN)."""
    x = np.asarray(x, dtype=float)
    out = _empty(x)
    n = len(x) - window + 1
    if n > 0:
        acc = x[:n].copy()
        for k in range(1, window):
            combine(acc, x[k:k + n], out=acc)
        out[window - 1:] = acc
    return out


def rolling_sum(x, window):
    """Sum of the last `window` rows, added in time order (NaN if any is NaN)."""
    return _rolling(x, window, np.add)


def rolling_mean(x, window):
    """Mean of the last `window` rows (a simple moving average; NaN if any is NaN)."""
    return rolling_sum(x, window) / window


def rolling_max(x, window):
    """Highest of the last `window` rows (NaN if any is NaN)."""
    return _rolling(x, window, np.maximum)


def rolling_median(x, window):
    """Median of the last `window` rows (NaN if any is NaN)."""
    x = np.asarray(x, dtype=float)
    out = _empty(x)
    for lo in range(window - 1, len(x), CHUNK):
        hi = min(lo + CHUNK, len(x))
        views = np.lib.stride_tricks.sliding_window_view(x[lo - window + 1:hi], window, axis=0)
        out[lo:hi] = np.median(views, axis=-1)
    return out


def row_median(x, use):
    """Per row of the 2-D `x`, the median of the entries where `use` is True; NaN where none.

    The same value as ``np.median(x[i][use[i]])``, for every row at once.
    """
    if x.shape[1] == 0:
        return np.full(len(x), NaN)
    ordered = np.sort(np.where(use, x, np.inf), axis=1)
    k = use.sum(axis=1)
    rows = np.arange(len(x))
    lo = ordered[rows, np.maximum(k - 1, 0) // 2]
    hi = ordered[rows, np.minimum(k // 2, x.shape[1] - 1)]
    with np.errstate(invalid="ignore"):
        mid = (lo + hi) / 2
    return np.where(k > 0, mid, NaN)
