"""The altcoin basket rule: which altcoins the rotation may hold at a bar, and their weights.

One definition, over arrays (bars x coins, the coins in feed order), used by the rotation on
both engines and by `canary study`. Every row depends only on the rows up to it, and its
arithmetic does not depend on how many rows there are: the Backtrader path, reading the last
rows at a bar, and the screening engine, reading the whole history at once, agree bit for bit.
"""
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

WEIGHTINGS = ("equal", "inverse_vol", "momentum")
_CELLS = 2_000_000   # window values held at once by `inverse_vol` (bounds its memory)


def eligible(tradable, closes, min_history, members=None):
    """bars x coins: True where a coin may enter the basket: tradable at the bar (listed, no
    delisting notice, a price) with a price at each of its last `min_history` bars, and, with
    a point-in-time universe (`members`, see `canary.strategies.plan.PlanBars`), in the top N
    in force at the bar."""
    closes = np.asarray(closes, dtype=float)
    n, k = closes.shape
    finite = np.vstack([np.zeros((1, k)), np.cumsum(np.isfinite(closes), axis=0)])
    t = np.arange(n)
    full = (finite[1:] - finite[np.maximum(t + 1 - min_history, 0)]) == min_history
    out = np.asarray(tradable, dtype=bool) & full & (t + 1 >= min_history)[:, None]
    return out if members is None else out & (np.asarray(members) > 0)


def held_share(members, n):
    """Per bar: the share of the basket its coins may hold (the rest stays in cash): 1 with the
    fixed list (`members` None) or ``missing = "renormalise"``; with ``missing = "cash"``, the
    priced top-N coins over N (`canary.feeds.pointintime.mark_members`)."""
    if members is None or members.shape[1] == 0:
        return np.ones(n)
    return np.max(members, axis=1)


def basket_weights(closes, admitted, weighting, vol_window, momentum_window, top_k):
    """bars x coins: the basket's weights at each bar among the `admitted` coins (`eligible`),
    summing to 1 (or 0 where none can be weighted):

    * ``equal``: equal weights;
    * ``inverse_vol``: 1 / the population standard deviation of the coin's log returns over
      the last `vol_window` bars (missing returns left out; no weight before `vol_window`
      bars of history, or at a zero or unknown deviation), normalised;
    * ``momentum``: the `top_k` coins by return over `momentum_window` bars, equally (ties in
      feed order).
    """
    closes = np.asarray(closes, dtype=float)
    out = np.zeros(closes.shape)
    if weighting == "equal":
        count = admitted.sum(axis=1, keepdims=True)
        np.divide(1.0, count, out=out, where=admitted & (count > 0))
    elif weighting == "inverse_vol":
        _inverse_vol(closes, admitted, vol_window, out)
    elif weighting == "momentum":
        _momentum(closes, admitted, momentum_window, top_k, out)
    else:
        raise ValueError(f"basket weighting {weighting!r} is not one of {', '.join(WEIGHTINGS)}")
    return out


def _inverse_vol(closes, admitted, window, out):
    n, k = closes.shape
    if n <= window or k == 0:
        return
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(closes)
    returns = logs[1:] - logs[:-1]                        # row j - 1: the return into bar j
    windows = sliding_window_view(returns, window, axis=0)  # row s: returns into bars s+1 .. s+window
    vol = np.full((n, k), np.nan)
    step = max(1, _CELLS // (k * window))
    for lo in range(0, len(windows), step):
        chunk = np.ascontiguousarray(windows[lo:lo + step])   # each window contiguous: numpy's pairwise sum
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a window with no return: NaN, no weight
            vol[window + lo:window + lo + len(chunk)] = np.nanstd(chunk, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(admitted & np.isfinite(vol) & (vol > 0), 1.0 / vol, 0.0)
    total = np.zeros(n)
    for c in range(k):            # added in feed order, one coin after another
        total += inv[:, c]
    np.divide(inv, total[:, None], out=out, where=inv > 0)


def _momentum(closes, admitted, window, top_k, out):
    n, k = closes.shape
    if n <= window or k == 0:
        return
    past = np.full((n, k), np.nan)
    past[window:] = closes[:-window]
    candidate = admitted & np.isfinite(past)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = closes / past - 1.0
    order = np.argsort(np.where(candidate, -score, np.inf), axis=1, kind="stable")   # best first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(k)[None, :].repeat(n, axis=0), axis=1)
    top = np.minimum(candidate.sum(axis=1), top_k)[:, None]
    chosen = candidate & (rank < top)
    np.divide(1.0, top, out=out, where=chosen)
