"""The performance figures of a curve, defined once for `canary run`, `compare` and `tune`.

Every figure of the metrics table (`canary.runs.report.metrics`), of a tuning's trials, objectives,
walk-forward windows, CSCV splits and drawdown limit comes from `figures(Segment.of(...))` here,
on any bar size:

- **Returns** are the changes of the portfolio value from one daily close to the next: the
  last bar close of each UTC day for bars shorter than a day (a bar closing at 00:00 UTC ends
  the day before), every bar otherwise. A year is 365 days of them (365 daily returns; 52 1/7
  weekly ones). The curve is measured from its first daily close to its last bar.
- **total_return** the growth over the curve; **cagr** that growth per year, over the number
  of returns; **volatility** the sample standard deviation of the returns, times the square
  root of their number per year; **sharpe** their mean over that deviation (risk-free rate 0),
  and **sortino** their mean over the downside deviation (the root of the mean squared negative
  return, over all returns), both times the same root; **max_drawdown** the deepest fall of the
  value from a running high, checked at *every bar close*, intraday ones included (a 4-hour
  dip that recovered by the day's close counts); **calmar** the CAGR over the depth of that
  drawdown.
- **n/a**: a ratio whose denominator is zero (or a deviation of fewer than two returns) is
  undefined: NaN here, "n/a" when shown. A flat curve (never invested) has a Sharpe, Sortino and
  Calmar of n/a, wherever it is measured; as a tuning objective, an n/a figure ranks below
  every defined one.

Why segments: a tuning computes these figures for thousands of trials over thousands of day
ranges (walk-forward windows, CSCV halves). A `Segment` is a few sums per trial over a run of
consecutive days that add up exactly when segments are joined end to end, so each range costs a
handful of additions instead of a pass over the returns. A single run's figures are the
segment of its whole curve, so `canary run` and `canary tune` share the arithmetic, not just
the formulas.

Why the tuning keeps bar returns: on bars shorter than a day, daily returns alone miss the
intraday path (a curve can fall 48 % at a 4-hour close and only 34 % at daily closes). A
trial's returns travel at every bar (`bar_returns`, from its first daily close; on daily bars
these are its daily returns, unchanged), and `Returns.of_bars` keeps, for each day, the daily
return and the lowest, highest and deepest intraday points of the path: a days x trials view
that windows and blocks cut by days, as they always have, and that segments sum exactly.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365
# columns a Segment sums at once: its temporaries (a handful of days x columns arrays) stay
# within about 100 MB on 3,000 days, however many trials (each column's sums are unchanged:
# numpy sums a C-ordered days x columns array down each column in the same order at any width
# of two or more)
COLUMNS_AT_ONCE = 512
ROW_BY_ROW = 64   # columns from which a running sum is worked row by row (`_running`)

FIGURES = ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar")


def kept_dtype(returns):
    """float32 if `returns` (an array or table) hold float32, as a tuning's matrix does with
    `tune.dtype = "float32"`: such a matrix is kept at half the memory and each statistic upcasts
    it a piece at a time; float64 otherwise."""
    dtypes = set(returns.dtypes) if isinstance(returns, pd.DataFrame) else {getattr(returns, "dtype", None)}
    return np.float32 if dtypes == {np.dtype(np.float32)} else np.float64


def floats(returns):
    """`returns` as an array of their `kept_dtype` (no copy when they are one already)."""
    return np.asarray(returns, dtype=kept_dtype(returns))


def column_runs(columns, dtype, size=COLUMNS_AT_ONCE):
    """The runs of columns (slices) a statistic works through a matrix of `dtype` by: a float64
    one whole, the arithmetic it always had to the last bit; a float32 one `size` columns at a
    time, each upcast to float64 on its own, so that no float64 copy of the whole is made."""
    size = columns if dtype == np.float64 else size
    return [slice(a, a + size) for a in range(0, columns, max(size, 1))]


def daily_closes(index):
    """(positions of the bars that are daily closes, how many of them make a year of 365 days).

    For bars shorter than a day, the last bar close of each UTC day (a bar closing at 00:00 UTC
    ends the day before); otherwise every bar, a year being 365 days of them."""
    index = pd.DatetimeIndex(index)
    # the median step, as pandas' Series.diff().median() computes it (float nanoseconds), without a Series
    step = (pd.Timedelta(float(np.median(np.diff(index.as_unit("ns").asi8)))) if len(index) > 1
            else pd.Timedelta(days=1))
    if step < pd.Timedelta(days=1):
        days = index.ceil("D")
        last = np.r_[days[1:] != days[:-1], True]
        return np.flatnonzero(last), float(DAYS_PER_YEAR)
    return np.arange(len(index)), DAYS_PER_YEAR / (step / pd.Timedelta(days=1))


def bar_returns(values, index):
    """The returns at every bar from the first daily close: (bars x runs array, their close
    instants). ``values``: runs x bars, each run's value at every bar close of ``index``."""
    values = np.asarray(values, dtype=float)
    start = int(daily_closes(index)[0][0]) if len(index) else 0
    return (values[:, start + 1:] / values[:, start:-1] - 1.0).T, pd.DatetimeIndex(index)[start + 1:]


@dataclass(frozen=True)
class Returns:
    """Returns from one daily close to the next (``daily``: days x columns, a DataFrame), with
    what they leave out of the path between two daily closes, in log growth from the previous
    daily close (days x columns arrays; None when each day is one bar): ``low`` and ``high``,
    the lowest and highest bar close of the day, and ``fall``, the deepest fall from a bar of
    the day to a later bar of the same day (<= 0). ``periods``: returns per year."""

    daily: pd.DataFrame
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    fall: np.ndarray | None = None
    periods: float = float(DAYS_PER_YEAR)

    @classmethod
    def of(cls, returns):
        """`returns` as Returns: itself, or a days x columns table of daily returns (one bar a day)."""
        if isinstance(returns, Returns):
            return returns
        if isinstance(returns, pd.Series):
            frame = returns.to_frame()
        elif isinstance(returns, pd.DataFrame):
            frame = returns
        else:
            a = np.asarray(returns, dtype=float)
            frame = pd.DataFrame(a[:, None] if a.ndim == 1 else a)
        return cls(frame.astype(kept_dtype(frame)))

    @classmethod
    def of_values(cls, values, index):
        """The Returns of runs x bars values at the bar closes of `index`."""
        r, bars = bar_returns(values, index)
        return cls.of_bars(pd.DataFrame(r, index=bars))

    @classmethod
    def of_bars(cls, bars):
        """The Returns of bars x columns returns at every bar (a DataFrame or Series whose index
        is the bars' close instants, starting after a daily close)."""
        frame = bars.to_frame() if isinstance(bars, pd.Series) else bars
        dtype = kept_dtype(frame)
        r = frame.to_numpy(dtype=dtype)
        ends, periods = daily_closes(frame.index)
        starts = np.r_[0, ends[:-1] + 1]
        counts = ends - starts + 1
        if len(r) == 0 or (counts == 1).all():
            return cls(frame.astype(dtype), periods=periods)
        daily, low, high, fall = (np.empty((len(ends), r.shape[1]), dtype) for _ in range(4))
        for s in column_runs(r.shape[1], dtype):
            daily[:, s], low[:, s], high[:, s], fall[:, s] = _days(np.asarray(r[:, s], dtype=float), starts, ends, counts)
        return cls(pd.DataFrame(daily, index=frame.index[ends], columns=frame.columns), low, high, fall, periods)

    def __len__(self):
        return len(self.daily)

    @property
    def shape(self):
        return self.daily.shape

    def __array__(self, dtype=None, copy=None):
        """As an array: the daily returns (days x columns)."""
        return self.daily.to_numpy(dtype=dtype or float)

    def _select(self, rows=slice(None), columns=slice(None)):
        part = self.daily.iloc[rows, columns]
        paths = [None if a is None else a[rows][:, columns] for a in (self.low, self.high, self.fall)]
        return Returns(part, *paths, periods=self.periods)

    def rows(self, rows):
        """The days at `rows` (a slice or positions)."""
        return self._select(rows=rows)

    def column(self, j):
        """Column position `j` alone."""
        return self._select(columns=[j])

    def blocks(self, count):
        """`count` runs of consecutive days, of (nearly) equal length, as `numpy.array_split` cuts."""
        edges = np.cumsum([0] + [len(b) for b in np.array_split(np.arange(len(self)), count)])
        return [self.rows(slice(a, b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def paths(self):
        """(low, high, fall), worked out from the daily returns when each day is one bar."""
        if self.low is not None:
            return self.low, self.high, self.fall
        with np.errstate(divide="ignore"):
            g = np.log1p(self.daily.to_numpy(dtype=float))
        return g, g, np.zeros_like(g)

    @staticmethod
    def concat(parts):
        """Parts with the same columns, joined in time (column names of the first)."""
        parts = list(parts)
        columns = parts[0].daily.columns
        daily = pd.concat([pd.DataFrame(p.daily.to_numpy(), index=p.daily.index, columns=columns) for p in parts])
        if all(p.low is None for p in parts):
            return Returns(daily, periods=parts[0].periods)
        paths = [np.concatenate(a) for a in zip(*(p.paths() for p in parts), strict=True)]
        return Returns(daily, *paths, periods=parts[0].periods)

    def cash(self):
        """Returns of the same days and columns spent in cash (all zero)."""
        return Returns(pd.DataFrame(0.0, index=self.daily.index, columns=self.daily.columns), periods=self.periods)


def _days(r, starts, ends, counts):
    """(daily return, low, high, fall) of each day of bars x columns returns `r` (see `Returns`)."""
    shape = (len(ends), r.shape[1])
    growth, path = np.ones(shape), np.zeros(shape)
    low, high, fall, peak = np.full(shape, np.inf), np.full(shape, -np.inf), np.zeros(shape), np.full(shape, -np.inf)
    with np.errstate(divide="ignore"):
        for j in range(int(counts.max())):   # the j-th bar of every day at once
            on = (j < counts)[:, None]
            bar = r[np.minimum(starts + j, ends)]
            growth = np.where(on, growth * (1.0 + bar), growth)
            path = np.where(on, path + np.log1p(bar), path)
            peak = np.where(on, np.maximum(peak, path), peak)
            low, high = np.where(on, np.minimum(low, path), low), np.where(on, np.maximum(high, path), high)
            fall = np.where(on, np.minimum(fall, path - peak), fall)
    return np.where((counts == 1)[:, None], r[ends], growth - 1.0), low, high, fall


def _running(ufunc, a):
    """`ufunc.accumulate(a, axis=0)` of a days x columns array (the running sum or high down each
    column), in place. A wide C-ordered array is worked row by row: the same operations on the
    same numbers in the same order, a third of the time of numpy's accumulate, which strides down
    one column after another."""
    if a.shape[1] < ROW_BY_ROW or not a.flags.c_contiguous:
        return ufunc.accumulate(a, axis=0, out=a)
    for i in range(1, len(a)):
        ufunc(a[i - 1], a[i], out=a[i])
    return a


@dataclass(frozen=True)
class Segment:
    """Sums over consecutive daily returns, one value per column (arrays of shape (columns,)).

    `log_*` are in log-growth units: `log_end` the growth over the segment, `log_low` and
    `log_high` the lowest and highest points of the path from the segment's start, and
    `log_drawdown` the deepest fall from a running peak inside the segment (<= 0), at every bar.
    """

    days: int  # or an array broadcasting against the others, for stacked segments
    total: np.ndarray
    squares: np.ndarray
    down_squares: np.ndarray
    log_end: np.ndarray
    log_low: np.ndarray
    log_high: np.ndarray
    log_drawdown: np.ndarray
    periods: float = float(DAYS_PER_YEAR)

    @classmethod
    def of(cls, returns):
        """The summary of `Returns`, or of a (days x columns) array of daily returns of one bar a
        day (a 1-d array is one column)."""
        if isinstance(returns, Returns):
            # one memory layout, so that sums (pairwise by layout) do not depend on how the data came
            r = floats(returns.daily)   # float32 upcast below, a piece at a time
            paths, periods = (None if returns.low is None else (returns.low, returns.high, returns.fall),
                              returns.periods)
        else:
            r = np.asarray(returns, dtype=float)
            r = r[:, None] if r.ndim == 1 else r
            paths, periods = None, float(DAYS_PER_YEAR)
        if r.shape[1] > COLUMNS_AT_ONCE:   # the same sums, column by column, in bounded memory
            # never a piece of one column: numpy sums a lone column pairwise, a wider one down each column
            edges = list(range(0, r.shape[1], COLUMNS_AT_ONCE))
            if r.shape[1] - edges[-1] == 1:
                edges.pop()
            edges.append(r.shape[1])
            pieces = [cls._of(np.ascontiguousarray(r[:, a:b], dtype=float),
                              None if paths is None else tuple(x[:, a:b] for x in paths), periods)
                      for a, b in zip(edges[:-1], edges[1:], strict=True)]
            return cls(pieces[0].days, *(np.concatenate([getattr(p, f) for p in pieces]) for f in _ARRAYS),
                       periods=periods)
        return cls._of(np.ascontiguousarray(r, dtype=float), paths, periods)

    @classmethod
    def _of(cls, r, paths, periods):
        with np.errstate(divide="ignore"):
            path = _running(np.add, np.log1p(r))
        start = np.zeros((1, r.shape[1]))
        if len(r) == 0:
            zero = start[0]
            return cls(0, zero, zero, zero, zero, zero, zero, zero, periods)
        if paths is None:
            lows = highs = path
            inside = start[0]
        else:
            before = np.vstack([start, path[:-1]])   # the path at the previous daily close
            lows, highs, inside = before + paths[0], before + paths[1], paths[2].min(axis=0)
        peaks = _running(np.maximum, np.vstack([start, highs[:-1]]))   # the high before each day
        # log_end a copy: a view would keep the whole days x columns path alive with the summary
        return cls(days=r.shape[0], total=r.sum(axis=0), squares=(r * r).sum(axis=0),
                   down_squares=(np.minimum(r, 0.0) ** 2).sum(axis=0), log_end=path[-1].copy(),
                   log_low=lows.min(axis=0), log_high=highs.max(axis=0),
                   log_drawdown=np.minimum(np.minimum((lows - peaks).min(axis=0), 0.0), inside), periods=periods)

    def then(self, later, fields=None):
        """The summary of this segment followed at once by `later`; with `fields` (names of
        `SEGMENT_FIELDS`, see `fields_for`), only those are worked out (the others are None),
        each by the same arithmetic as in the full summary."""
        want = _ARRAYS if fields is None else fields
        out = {}
        for name in ("total", "squares", "down_squares"):
            if name in want:
                out[name] = getattr(self, name) + getattr(later, name)
        if "log_drawdown" in want:
            # the running peak entering `later` is this segment's high (or its start, 0)
            peak_in = np.maximum(self.log_high, 0.0)
            fall = self.log_end + later.log_low - peak_in
            out["log_drawdown"] = np.minimum(np.minimum(self.log_drawdown, later.log_drawdown), np.minimum(fall, 0.0))
        if "log_low" in want:
            out["log_low"] = np.minimum(self.log_low, self.log_end + later.log_low)
        if "log_high" in want:
            out["log_high"] = np.maximum(self.log_high, self.log_end + later.log_high)
        if "log_end" in want:
            out["log_end"] = self.log_end + later.log_end
        return Segment(self.days + later.days, *(out.get(f) for f in _ARRAYS), periods=self.periods)

    @staticmethod
    def joined(segments, fields=None):
        """Segments joined end to end, in order (`then`; `fields` as there)."""
        segments = list(segments)
        out = segments[0]
        for s in segments[1:]:
            out = out.then(s, fields)
        return out

    @classmethod
    def stack(cls, segments, fields=None):
        """Several segments as one whose fields have a leading axis (days as a column); with
        `fields`, only those (the others None)."""
        return cls(np.array([[s.days] for s in segments]),
                   *(np.stack([getattr(s, f) for s in segments]) if fields is None or f in fields else None
                     for f in _ARRAYS), periods=segments[0].periods)

    @classmethod
    def blocks(cls, returns, count):
        """The segments of `count` runs of consecutive days of `returns` (as `Returns.blocks`)."""
        return [cls.of(part) for part in Returns.of(returns).blocks(count)]


_ARRAYS = ("total", "squares", "down_squares", "log_end", "log_low", "log_high", "log_drawdown")
SEGMENT_FIELDS = _ARRAYS

# the sums each figure reads (besides the days); calmar reads cagr's and max_drawdown's
_READS = {"total_return": ("log_end",), "cagr": ("log_end",), "volatility": ("total", "squares"),
          "sharpe": ("total", "squares"), "sortino": ("total", "down_squares"),
          "max_drawdown": ("log_end", "log_low", "log_high", "log_drawdown"),
          "calmar": ("log_end", "log_low", "log_high", "log_drawdown")}


def fields_for(names):
    """The segment fields that the figures `names` read (what `then`, `joined` and `stack` need to
    carry for them: log_drawdown needs log_end, log_low and log_high along a join)."""
    return tuple(f for f in _ARRAYS if any(f in _READS[n] for n in names))


def _ratio(num, den):
    """num / den, NaN (n/a) where den is 0 or NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def figures(seg, names=FIGURES):
    """The figures `names` (every one by default) of a segment, per column, as a dict of arrays
    (the module's definitions), computing only what they read (from a segment carrying at least
    `fields_for(names)`)."""
    wanted = set(names)
    n = np.asarray(seg.days)
    root = np.sqrt(seg.periods)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if {"volatility", "sharpe", "sortino"} & wanted:
            mean = seg.total / n
        if {"volatility", "sharpe"} & wanted:
            std = np.sqrt(np.maximum(seg.squares - seg.total * mean, 0.0) / (n - 1))
            std = np.where(n > 1, std, np.nan)
        if {"total_return", "cagr", "calmar"} & wanted:
            growth = np.exp(seg.log_end)
        if {"cagr", "calmar"} & wanted:
            cagr = np.where(n > 0, growth ** (seg.periods / n) - 1.0, np.nan)
        if "sortino" in wanted:
            downside = np.sqrt(seg.down_squares / n)
    if {"max_drawdown", "calmar"} & wanted:
        mdd = np.expm1(seg.log_drawdown)
    for name in names:
        if name == "total_return":
            out[name] = growth - 1.0
        elif name == "cagr":
            out[name] = cagr
        elif name == "volatility":
            out[name] = std * root
        elif name == "sharpe":
            out[name] = _ratio(mean, std) * root
        elif name == "sortino":
            out[name] = _ratio(mean, downside) * root
        elif name == "max_drawdown":
            out[name] = mdd
        elif name == "calmar":
            out[name] = _ratio(cagr, -mdd)
        else:
            raise KeyError(name)
    return out


def figures_of(returns):
    """The figures of each column of `returns` (see `Returns.of`), as {figure: array}."""
    return figures(Segment.of(Returns.of(returns)))
