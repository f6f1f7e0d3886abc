"""The signal functions on plain arrays, and the regime declared as data.

* Every array function is causal with a finite memory: its value at a bar is the same,
  bit for bit, computed over the whole history, over the history up to that bar, or over
  the last ``lookback`` bars only (which is how the indicators' bar-by-bar mode uses it).
* The vectorised functions agree with plain per-bar references.
* A confirmation added as one indicator and one declaration changes the regime, with no
  edit to the classifier (a test-only signal).
"""
import math

import numpy as np
import pandas as pd
import pytest
from test_indicators import REGIME_SMALL, _run, reference_breakout, reference_events, regime_setup

from canary.feeds.btfeeds import bt_datetimes
from canary.indicators import (
    BACKGROUND,
    BTC,
    CRYPTO,
    RISK_OFF,
    RiskRegime,
    Signal,
    defaults,
    evaluate,
    resolve,
    signals,
)
from canary.indicators.alt_volume import alt_volume_hold, basket_relative_volume, sideways, sideways_mean
from canary.indicators.array_indicator import ArrayIndicator
from canary.indicators.ethbtc import eth_btc_strength
from canary.indicators.failed_breakouts import breakout_outcomes, failed_breakout_rate
from canary.indicators.relative_strength import relative_strength
from canary.indicators.rolling import rolling_max, rolling_mean, rolling_median, rolling_sum, row_median
from canary.indicators.smallcap_breakout import small_cap_breakout
from canary.params import ParameterError

NaN = math.nan


def basket(n=240, coins=6, seed=0):
    """Random closes and volumes (bars x coins) with a late listing, a delisting, a gap, a
    zero volume: every case the functions must carry."""
    rng = np.random.default_rng(seed)
    closes = 10 * np.exp(np.cumsum(rng.normal(0.002, 0.04, (n, coins)), axis=0))
    volumes = rng.lognormal(0, 0.5, (n, coins)) * 10.0 ** rng.integers(-3, 6, coins)
    for x in (closes, volumes):
        x[:60, 1] = NaN             # listed later
        x[150:, 2] = NaN            # delisted
        x[100:104, 3] = NaN         # a gap
    volumes[120, 4] = 0.0
    return closes, volumes


CLOSES, VOLUMES = basket()
BTC_CLOSE = 30000 * np.exp(np.cumsum(np.random.default_rng(9).normal(0, 0.01, len(CLOSES))))

# (name, function of the arrays up to a bar, lookback in bars)
FUNCTIONS = [
    ("rolling_sum", lambda k: (rolling_sum(CLOSES[k], 7),), 7),
    ("rolling_max", lambda k: (rolling_max(CLOSES[k], 9),), 9),
    ("rolling_median", lambda k: (rolling_median(VOLUMES[k], 6),), 6),
    ("eth_btc_strength", lambda k: eth_btc_strength(CLOSES[k, 0], BTC_CLOSE[k], 12, 5), 12),
    ("breakout_outcomes", lambda k: breakout_outcomes(CLOSES[k], 6, 3), 10),
    ("failed_breakout_rate", lambda k: failed_breakout_rate(CLOSES[k], 6, 3, 11), 20),
    ("alt_volume_hold", lambda k: alt_volume_hold(BTC_CLOSE[k], VOLUMES[k], 3, 0.02, 8, 10), 18),
    ("relative_strength", lambda k: relative_strength(CLOSES[k, 0] / CLOSES[k, 5], 10), 10),
]


@pytest.mark.parametrize("name,function,lookback", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_a_bar_has_the_same_value_from_any_window_that_covers_its_lookback(name, function, lookback):
    whole = function(slice(None))
    n = len(CLOSES)
    for i in list(range(0, lookback + 3)) + list(range(95, 125)) + [n - 1]:
        for start in {0, max(0, i - lookback + 1)}:
            part = function(slice(start, i + 1))
            for a, b in zip(part, whole, strict=True):
                np.testing.assert_array_equal(a[-1], b[i], err_msg=f"{name}: bar {i} from bar {start}")
    # a shorter window than the lookback is not enough (the lookback is the real memory)
    i = n - 1
    assert any(not np.array_equal(a[-1], b[i], equal_nan=True)
               for a, b in zip(function(slice(i - lookback + 2, i + 1)), whole, strict=True)), name
    # and the whole-history values are mostly known
    assert all(np.isfinite(b[lookback + 5:]).mean() > 0.5 for b in whole), name


def test_rolling_windows_against_pandas():
    frame = pd.DataFrame(CLOSES)
    np.testing.assert_allclose(rolling_mean(CLOSES, 7), frame.rolling(7).mean(), rtol=1e-12)
    np.testing.assert_array_equal(rolling_max(CLOSES, 9), frame.rolling(9).max().where(frame.rolling(9).count() == 9))
    np.testing.assert_array_equal(rolling_median(VOLUMES, 6),
                                  pd.DataFrame(VOLUMES).rolling(6).median().to_numpy())
    use = np.isfinite(CLOSES) & (CLOSES > 12)
    want = [np.median(row[u]) if u.any() else NaN for row, u in zip(CLOSES, use, strict=True)]
    np.testing.assert_array_equal(row_median(CLOSES, use), want)


def test_an_empty_basket_confirms_nothing():
    none = np.empty((40, 0))
    assert np.isnan(basket_relative_volume(none, 5)).all()
    assert np.isnan(alt_volume_hold(BTC_CLOSE[:40], none, 3, 0.02, 5, 5)[2]).all()
    failed, resolved, rate = failed_breakout_rate(none, 3, 2, 5)
    assert (resolved[9:] == 0).all() and np.isnan(rate).all()


def test_breakout_outcomes_against_the_event_reference():
    failed, resolved = reference_events(CLOSES, 6, 3)
    got_failed, got_resolved = breakout_outcomes(CLOSES, 6, 3)
    np.testing.assert_array_equal(got_failed[9:], failed[9:])
    np.testing.assert_array_equal(got_resolved[9:], resolved[9:])
    assert np.isnan(got_failed[:9]).all() and failed.sum() >= 10 and (resolved - failed).sum() >= 10


def test_alt_volume_parts_against_plain_loops():
    lookback, window = 8, 10
    ratio = basket_relative_volume(VOLUMES, lookback)
    for i in range(lookback, len(VOLUMES)):
        block = VOLUMES[i - lookback:i + 1]
        ok = np.all(np.isfinite(block) & (block > 0), axis=0)
        want = np.median(block[-1, ok] / np.median(block[:-1, ok], axis=0)) if ok.any() else NaN
        np.testing.assert_array_equal(ratio[i], want)
    flags = sideways(BTC_CLOSE, 3, 0.02)
    mean = sideways_mean(ratio, flags, window)
    for i in range(window - 1, len(ratio)):
        r, f = ratio[i - window + 1:i + 1], flags[i - window + 1:i + 1]
        use = (f > 0.5) & np.isfinite(r)
        assert mean[i] == pytest.approx(r[use].mean(), rel=1e-14) if use.any() else math.isnan(mean[i])


def test_small_cap_breakout_against_the_plain_state_machine():
    close = 1000 + 40 * np.sin(np.arange(300) / 11.0) + np.cumsum(np.random.default_rng(4).normal(0, 3, 300))
    level, streak, on, trigger = small_cap_breakout(close, "ma", 3000.0, 20, 0.0, 3, 0.02)
    np.testing.assert_allclose(trigger, pd.Series(close).rolling(20).mean(), rtol=1e-12)
    want = reference_breakout(close, trigger, 3, 0.02)
    np.testing.assert_array_equal(np.vstack([level, streak, on]), want)
    assert np.nansum(np.abs(np.diff(on))) >= 4


# ---------------------------------------------------------------------------- a declared signal added

def btc_trend(close, period):
    """BTC against its moving average (a test-only confirmation)."""
    return (np.asarray(close, dtype=float) / rolling_mean(close, period) - 1.0,)


class BtcTrend(ArrayIndicator):
    lines = ("trend",)
    params = (("period", 3),)
    function = staticmethod(btc_trend)
    inputs = ("close",)

    def lookback(self, p):
        return p["period"]


BTC_TREND = Signal("btc_trend", "btc_trend", BtcTrend, "trend", ("btc",), CRYPTO, BACKGROUND,
                   threshold="min_trend", level=-0.5, direction=">")


@pytest.fixture
def with_btc_trend(monkeypatch):
    monkeypatch.setattr(signals, "SIGNALS", signals.SIGNALS + (BTC_TREND,))


def regime_arrays(make_feeds):
    """The feeds of `make_feeds` as the role arrays of `evaluate`."""
    feeds = make_feeds()
    frames = [f.p.dataname for f in feeds]

    def role(frame):
        return {"close": frame["close"].to_numpy(), "volume": frame["volume"].to_numpy(),
                "datetime": bt_datetimes(frame.index)}

    alts = frames[4:]
    return {"btc": role(frames[0]), "eth": role(frames[1]), "small_cap": role(frames[2]),
            "large_cap": role(frames[3]),
            "alts": {k: np.column_stack([role(f)[k] for f in alts]) for k in ("close", "volume", "datetime")}}


def test_a_declared_signal_joins_the_regime_without_a_classifier_edit(with_btc_trend):
    assert defaults()["btc_trend"] == {"period": 3, "min_trend": -0.5}
    make_feeds, clock, friday = regime_setup(21, "2024-01-01")
    base = _run(make_feeds, lambda *d: RiskRegime(*d, **REGIME_SMALL), True)
    # BTC is flat: its trend is 0, above -0.5: the new background signal holds after its warm-up
    assert set(np.unique(base["regime"])) == {RISK_OFF, BTC}
    # at a threshold of 0 it never holds: risk-off throughout
    strict = {**REGIME_SMALL["filter"], "btc_trend": {"min_trend": 0.0}}
    off = _run(make_feeds, lambda *d: RiskRegime(*d, filter=strict), True)
    assert np.all(off["regime"] == RISK_OFF) and np.all(off["background"] == 0)
    # the array path reads the same declarations
    arrays = regime_arrays(make_feeds)
    for settings, run in ((REGIME_SMALL["filter"], base), (strict, off)):
        got = evaluate(arrays, settings)
        for line in ("regime", "background", "eth_strong", "breadth"):
            np.testing.assert_array_equal(got[line], run[line], err_msg=line)


def test_unknown_settings_are_refused_with_a_suggestion():
    with pytest.raises(ParameterError, match="'eth_btc'"):
        resolve({"eth_bct": {"period": 3}})
    with pytest.raises(ParameterError, match="'momentum_period'"):
        resolve({"eth_btc": {"momentum_periods": 3}})
