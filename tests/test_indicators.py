"""The risk-on indicators, tested the way Backtrader tests its own.

Small synthetic normalised frames (UTC close instants; open, high, low, close, volume) go
through a Cerebro whose tiny strategy holds the indicator; line values are checked at sample
bars against hand-worked numbers or plain pandas, in both ``runonce`` modes, and the two modes
must give identical lines.
"""
import math

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from canary.errors import ConfigError
from canary.feeds import CloseInstantData, ListedData, master_clock
from canary.indicators import (
    ALTS,
    BTC,
    ETH,
    RISK_OFF,
    AltVolumeHold,
    BreakoutOutcomes,
    EthBtcStrength,
    FailedBreakoutRate,
    RiskRegime,
    SmallCapBreakout,
    SmallVsLargeCap,
    classify,
    resolve,
)
from canary.indicators.alt_volume import basket_relative_volume, sideways_mean
from canary.indicators.failed_breakouts import breakout_outcomes
from canary.params import ParameterError

NaN = math.nan
both_modes = pytest.mark.parametrize("runonce", [True, False], ids=["runonce", "next"])


# ---------------------------------------------------------------------------- helpers

def bars(close, index, volume=None):
    """A normalised frame with open = high = low = close."""
    close = np.asarray(close, dtype=float)
    volume = np.full(len(close), 1000.0) if volume is None else np.asarray(volume, dtype=float)
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": volume},
                        index=pd.DatetimeIndex(index, name="close_time"))


def sessions(n, start="2024-01-02", hour=21):
    """`n` weekday sessions from `start`, each closing at `hour`:00 UTC (21:00 is NYSE in winter)."""
    days = pd.bdate_range(start, periods=n)
    return (days + pd.Timedelta(hours=hour)).tz_localize("UTC")


def crypto_days(n, start="2024-01-01"):
    """`n` daily crypto bars, each closing at 00:00 UTC."""
    return pd.date_range(start, periods=n, freq="D", tz="UTC")


def equity_feed(frame, name="EQ"):
    return lambda: CloseInstantData(dataname=frame, name=name)


def coin_feeds(frames):
    """ListedData feeds of `frames` on their master clock (built afresh for each run)."""
    clock = master_clock(list(frames))
    return lambda: [ListedData.on_clock(f, clock, name=f"C{i}") for i, f in enumerate(frames)]


def _run(make_feeds, make_indicator, runonce):
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=True)
    feeds = make_feeds()
    for feed in feeds if isinstance(feeds, (list, tuple)) else [feeds]:
        cerebro.adddata(feed)

    class Holder(bt.Strategy):
        def __init__(self):
            self.held = make_indicator(*self.datas)

    cerebro.addstrategy(Holder)
    ind = cerebro.run()[0].held
    return {name: np.asarray(getattr(ind.lines, name).array, dtype=float)
            for name in ind.lines.getlinealiases()}


def lines_of(make_feeds, make_indicator, runonce):
    """The indicator's lines (name -> array) in the requested mode, after checking that the
    other mode gives identical lines."""
    mine = _run(make_feeds, make_indicator, runonce)
    other = _run(make_feeds, make_indicator, not runonce)
    assert mine.keys() == other.keys()
    for name in mine:
        np.testing.assert_array_equal(mine[name], other[name], err_msg=f"line {name}: runonce vs next")
    return mine


def assert_same(actual, expected, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=0, equal_nan=True)


# ---------------------------------------------------------------------------- SmallCapBreakout

@both_modes
def test_breakout_absolute_confirm_hysteresis_and_fakeout(runonce):
    closes = [99, 101, 102, 99, 101, 102, 103, 98, 96, 94, 101]
    #         --- streak 1, 2, then reset ---  3 = on  | within 5 % | 94 < 95: fake-out
    out = lines_of(equity_feed(bars(closes, sessions(len(closes)))),
                   lambda d: SmallCapBreakout(d, mode="absolute", level=100.0, confirm=3, hysteresis=0.05),
                   runonce)
    assert_same(out["level"], [100.0] * 11)
    assert_same(out["streak"], [0, 1, 2, 0, 1, 2, 3, 0, 0, 0, 1])
    assert_same(out["risk_on"], [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0])


@both_modes
def test_breakout_close_on_the_hysteresis_band_keeps_it_on(runonce):
    closes = [101, 101, 75, 74.99, 101]   # 75 = 100 * (1 - 0.25) exactly: still on
    out = lines_of(equity_feed(bars(closes, sessions(5))),
                   lambda d: SmallCapBreakout(d, mode="absolute", level=100.0, confirm=2, hysteresis=0.25), runonce)
    assert_same(out["risk_on"], [0, 1, 1, 0, 0])
    assert_same(out["streak"], [1, 2, 0, 0, 1])


@both_modes
def test_breakout_channel_holds_the_breakout_session_level(runonce):
    closes = [10, 11, 12, 13, 12.5, 11.9, 11.7, 12.6, 12.4, 12.7]
    out = lines_of(equity_feed(bars(closes, sessions(len(closes)))),
                   lambda d: SmallCapBreakout(d, mode="channel", period=3, confirm=2, hysteresis=0.02), runonce)
    # the trigger is the highest close of the 3 sessions before
    assert_same(out["trigger"], pd.Series(closes).shift(1).rolling(3).max())
    # bar 3 breaks 12; bar 4 (12.5) is below the new channel high 13 but above the held 12: confirmed;
    # bar 5 (11.9) dips inside the 2 % band (11.76) and stays on; bar 6 (11.7) fakes out;
    # bar 7 breaks the fresh channel 12.5; bar 8 (12.4) fails it; bar 9 judged against the fresh 12.6.
    assert_same(out["level"], [NaN, NaN, NaN, 12, 12, 12, 12, 12.5, 12.5, 12.6])
    assert_same(out["streak"], [NaN, NaN, NaN, 1, 2, 0, 0, 1, 0, 1])
    assert_same(out["risk_on"], [NaN, NaN, NaN, 0, 1, 1, 0, 0, 0, 0])


def reference_breakout(close, trigger, confirm, hysteresis):
    """The breakout state machine written out plainly (absolute / ma modes: level = trigger)."""
    on, streak, rows = False, 0, []
    for c, level in zip(close, trigger, strict=True):
        if np.isnan(level):
            rows.append((NaN, NaN, NaN))
            continue
        streak = streak + 1 if c > level else 0
        on = (c >= level * (1 - hysteresis)) if on else (streak >= confirm)
        rows.append((level, streak, float(on)))
    return np.array(rows).T


@both_modes
def test_breakout_ma_mode_against_pandas(runonce):
    rng = np.random.default_rng(7)
    n = 160
    close = pd.Series(1000 + 60 * np.sin(np.arange(n) / 9.0) + np.cumsum(rng.normal(0, 4, n)))
    period, distance, confirm, hysteresis = 10, 0.005, 3, 0.02
    out = lines_of(equity_feed(bars(close, sessions(n))),
                   lambda d: SmallCapBreakout(d, mode="ma", period=period, distance=distance,
                                              confirm=confirm, hysteresis=hysteresis), runonce)
    trigger = close.rolling(period).mean() * (1 + distance)
    assert_same(out["trigger"], trigger)
    level, streak, on = reference_breakout(close.to_numpy(), trigger.to_numpy(), confirm, hysteresis)
    assert_same(out["level"], level)
    assert_same(out["streak"], streak)
    assert_same(out["risk_on"], on)
    # the series exercises every branch: several on/off switches, and on-bars held by the band alone
    assert np.nansum(np.abs(np.diff(on))) >= 4
    assert np.any((on == 1) & (close.to_numpy() < level))


@both_modes
def test_breakout_counts_equity_sessions_not_calendar_days(runonce):
    # Thu 4, Fri 5, Mon 8, Tue 9 January 2024, with a 24/7 crypto feed beside it (weekend bars too)
    idx = sessions(4, start="2024-01-04")
    assert [d.day_name() for d in idx] == ["Thursday", "Friday", "Monday", "Tuesday"]
    equity = bars([90, 101, 102, 103], idx)
    crypto = bars(np.full(10, 50.0), crypto_days(10))

    out = lines_of(lambda: [CloseInstantData(dataname=crypto, name="BTC"), CloseInstantData(dataname=equity)],
                   lambda btc, eq: SmallCapBreakout(eq, mode="absolute", level=100.0, confirm=2, hysteresis=0.01), runonce)
    # one value per session; Friday then Monday are 2 sessions, whatever the weekend in between
    assert_same(out["streak"], [0, 1, 2, 3])
    assert_same(out["risk_on"], [0, 0, 1, 1])


@both_modes
def test_breakout_misspelt_parameter_suggests_the_right_one(runonce):
    feed = equity_feed(bars([1, 2, 3], sessions(3)))
    with pytest.raises(ParameterError) as err:
        _run(feed, lambda d: SmallCapBreakout(d, confrim=3), runonce)
    assert isinstance(err.value, ConfigError) and isinstance(err.value, TypeError)
    assert "confrim" in str(err.value) and "'confirm'" in str(err.value)


def test_regime_misspelt_parameter_suggests_the_right_one():
    feed = equity_feed(bars([1, 2, 3], sessions(3)))
    with pytest.raises(ParameterError, match="'hysteresis'"):
        _run(feed, lambda d: RiskRegime(d, d, d, d, d, filter={"small_cap": {"hysterisis": 0.02}}), True)


def test_breakout_bad_mode_is_refused():
    feed = equity_feed(bars([1, 2, 3], sessions(3)))
    with pytest.raises(ConfigError, match="chanel.*'channel'"):
        _run(feed, lambda d: SmallCapBreakout(d, mode="chanel"), True)


# ---------------------------------------------------------------------------- SmallVsLargeCap, EthBtcStrength

@both_modes
def test_small_vs_large_cap_by_hand(runonce):
    idx = sessions(4)
    out = lines_of(lambda: [CloseInstantData(dataname=bars([2, 4, 6, 8], idx)),
                            CloseInstantData(dataname=bars([1, 2, 2, 2], idx))],
                   lambda small, large: SmallVsLargeCap(small, large, period=2), runonce)
    assert_same(out["ratio"], [2, 2, 3, 4])
    assert_same(out["average"], [NaN, 2, 2.5, 3.5])
    assert_same(out["strength"], [NaN, 0, 0.2, 4 / 3.5 - 1])


@both_modes
def test_small_vs_large_cap_against_pandas(runonce):
    rng = np.random.default_rng(1)
    n, period = 80, 12
    idx = sessions(n)
    small = pd.Series(2000 * np.exp(np.cumsum(rng.normal(0, 0.012, n))))
    large = pd.Series(4000 * np.exp(np.cumsum(rng.normal(0, 0.008, n))))
    out = lines_of(lambda: [CloseInstantData(dataname=bars(small, idx)), CloseInstantData(dataname=bars(large, idx))],
                   lambda s, la: SmallVsLargeCap(s, la, period=period), runonce)
    ratio = small / large
    average = ratio.rolling(period).mean()
    assert_same(out["ratio"], ratio)
    assert_same(out["average"], average)
    assert_same(out["strength"], ratio / average - 1)
    assert np.isnan(out["strength"][period - 2]) and np.isfinite(out["strength"][period - 1])


@both_modes
def test_small_vs_large_cap_aligns_by_close_instant_not_bar_number(runonce):
    small_idx = sessions(8, start="2024-01-08")                      # Mon 8 .. Wed 17 January
    saturday = pd.Timestamp("2024-01-13 12:00", tz="UTC")
    after = sessions(2, start="2024-01-18")                           # Thu 18, Fri 19: after the small cap ends
    # the large cap starts two sessions later, lacks Monday 15, has a Saturday bar, goes on longer
    large_idx = small_idx[2:5].append(pd.DatetimeIndex([saturday])).append(small_idx[6:]).append(after)
    small = [10, 20, 30, 40, 50, 60, 70, 80]
    large = [2, 4, 5, 8, 10, 16, 1000, 1000]
    out = lines_of(lambda: [CloseInstantData(dataname=bars(small, small_idx)),
                            CloseInstantData(dataname=bars(large, large_idx))],
                   lambda s, la: SmallVsLargeCap(s, la, period=2), runonce)
    # Monday 15 is judged against Saturday's 8; the later 1000s never leak back
    ratio = [NaN, NaN, 15, 10, 10, 7.5, 7, 5]
    assert_same(out["ratio"], ratio)
    assert_same(out["average"], [NaN, NaN, NaN, 12.5, 10, 8.75, 7.25, 6])
    assert_same(out["strength"], [NaN, NaN, NaN, -0.2, 0, 7.5 / 8.75 - 1, 7 / 7.25 - 1, 5 / 6 - 1])


@both_modes
def test_eth_btc_strength_against_pandas(runonce):
    rng = np.random.default_rng(2)
    n, period, momentum = 90, 10, 4
    idx = crypto_days(n)
    btc = pd.Series(40000 * np.exp(np.cumsum(rng.normal(0, 0.02, n))))
    eth = pd.Series(2500 * np.exp(np.cumsum(rng.normal(0.002, 0.03, n))))
    out = lines_of(coin_feeds([bars(eth, idx), bars(btc, idx)]),
                   lambda e, b: EthBtcStrength(e, b, period=period, momentum_period=momentum), runonce)
    ratio = eth / btc
    assert_same(out["ratio"], ratio)
    assert_same(out["average"], ratio.rolling(period).mean())
    assert_same(out["trend"], ratio / ratio.rolling(period).mean() - 1)
    assert_same(out["momentum"], ratio.pct_change(momentum))
    assert np.isnan(out["momentum"][momentum - 1]) and np.isfinite(out["momentum"][momentum])


# ---------------------------------------------------------------------------- FailedBreakoutRate

def hand_basket():
    """Four coins on a 20-bar daily clock (period 3, horizon 2):

    A breaks out at bar 6 (level 5) and fails at bar 8 (4.9 < 5);
    B breaks out at bar 9 (level 5) and holds through bar 11: a success resolved at bar 11;
    C lists at bar 10 and rises every bar: its first breakout is at bar 13 (after 3 listed
    bars), and the breakouts of bars 13..17 succeed at bars 15..19;
    D breaks out at bar 13, holds at 14 and delists: that open breakout is void.
    """
    idx = crypto_days(20)
    a = [5.0] * 6 + [6, 5.5] + [4.9] * 12
    b = [5.0] * 9 + [7] + [6.0] * 10
    c = np.arange(1.0, 11.0)
    d = [5.0] * 13 + [8, 7]
    return [bars(a, idx), bars(b, idx), bars(c, idx[10:]), bars(d, idx[:15])]


@both_modes
def test_breakout_events_by_hand(runonce):
    out = lines_of(coin_feeds(hand_basket()), lambda *d: BreakoutOutcomes(*d, period=3, horizon=2), runonce)
    failed = np.zeros(20)
    resolved = np.zeros(20)
    failed[8] = resolved[8] = 1            # A
    resolved[11] = 1                       # B
    resolved[15:20] = 1                    # C, one success per bar
    failed[:5] = resolved[:5] = NaN        # warm-up: period + horizon + 1 bars
    assert_same(out["failed"], failed)
    assert_same(out["resolved"], resolved)


@both_modes
def test_failed_breakout_rate_by_hand(runonce):
    out = lines_of(coin_feeds(hand_basket()),
                   lambda *d: FailedBreakoutRate(*d, period=3, horizon=2, window=3), runonce)
    head = [NaN] * 7
    assert_same(out["failed"], head + [0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    assert_same(out["resolved"], head + [0, 1, 1, 1, 1, 1, 1, 0, 1, 2, 3, 3, 3])
    assert_same(out["rate"], head + [NaN, 1, 1, 1, 0, 0, 0, NaN, 0, 0, 0, 0, 0])
    # the late listing and the delisting leave no hole in the counts
    assert np.all(np.isfinite(out["failed"][7:])) and np.all(np.isfinite(out["resolved"][7:]))


def test_breakout_outcomes_function_by_hand():
    # period 2, horizon 2: rows t-2, t-1 | t (breakout) | t+1 | now
    block = np.array([
        [1.0, 1.0, 1.0, NaN],
        [1.0, 1.0, 1.0, 1.0],
        [2.0, 2.0, 2.0, 2.0],    # every coin breaks out over 1 (the last one has no history)
        [1.5, 0.5, 1.5, 1.5],    # coin 1 fails already here (resolved a bar ago, not now)
        [1.2, 0.5, 0.9, 1.2],    # coin 0 held two bars: success; coin 2 fails now
    ])
    def now(block):
        failed, resolved = breakout_outcomes(block, period=2, horizon=2)
        return failed[-1], resolved[-1]

    assert now(block) == (1, 2)
    # a missing bar after the breakout voids it
    block[3, 0] = NaN
    assert now(block) == (1, 1)


def reference_events(closes, period, horizon):
    """Breakout outcomes per bar, followed coin by coin and breakout by breakout."""
    n, coins = closes.shape
    failed, resolved = np.zeros(n), np.zeros(n)
    for c in range(coins):
        x = closes[:, c]
        for t in range(period, n):
            prior = x[t - period:t]
            if np.isnan(prior).any() or np.isnan(x[t]) or not x[t] > prior.max():
                continue
            level = prior.max()
            for j in range(1, horizon + 1):
                if t + j >= n or np.isnan(x[t + j]):
                    break                       # not known yet / voided by a missing bar
                if x[t + j] < level:
                    failed[t + j] += 1
                    resolved[t + j] += 1
                    break
                if j == horizon:
                    resolved[t + j] += 1
    return failed, resolved


@both_modes
def test_failed_breakout_rate_against_event_reference(runonce):
    rng = np.random.default_rng(3)
    n, period, horizon, window = 150, 5, 3, 12
    idx = crypto_days(n)
    frames = []
    for _ in range(5):
        close = 10 * np.exp(np.cumsum(rng.normal(0.004, 0.04, n)))
        frames.append(bars(close, idx))
    frames[1] = frames[1].iloc[40:]                                    # listed later
    frames[2] = frames[2].iloc[:110]                                   # delisted
    frames[3] = frames[3].drop(frames[3].index[70:73])                 # a three-bar gap
    out = lines_of(coin_feeds(frames), lambda *d: FailedBreakoutRate(*d, period=period, horizon=horizon,
                                                                      window=window), runonce)
    closes = np.column_stack([f["close"].reindex(idx).to_numpy() for f in frames])
    failed, resolved = reference_events(closes, period, horizon)
    start = period + horizon           # the first bar whose outcome window is complete
    failed[:start] = resolved[:start] = NaN
    want_failed = pd.Series(failed).rolling(window).sum()
    want_resolved = pd.Series(resolved).rolling(window).sum()
    assert_same(out["failed"], want_failed)
    assert_same(out["resolved"], want_resolved)
    assert_same(out["rate"], (want_failed / want_resolved.replace(0, NaN)))
    assert np.nansum(failed) >= 10 and np.nansum(resolved - failed) >= 10   # both outcomes occur


# ---------------------------------------------------------------------------- AltVolumeHold

def test_basket_relative_volume_pools_coins_of_any_volume_scale():
    volumes = np.array([
        [10.0, 1e6, 1e-3],
        [10.0, 1e6, 1e-3],
        [10.0, 1e6, 1e-3],
        [20.0, 3e6, 1e-3],   # relative volumes 2, 3 and 1: median 2
    ])
    def now(volumes):
        return basket_relative_volume(volumes, lookback=3)[-1]

    assert now(volumes) == 2.0
    volumes[1, 1] = NaN      # a coin with a missing bar in the window is left out
    assert now(volumes) == 1.5
    volumes[0, 2] = 0.0      # so is one with a zero volume
    assert now(volumes) == 2.0
    volumes[:, 0] = NaN
    assert math.isnan(now(volumes))


def test_sideways_mean_by_hand():
    assert sideways_mean(np.array([1.2, 5.0, 0.8, NaN]), np.array([1.0, 0.0, 1.0, 1.0]), window=4)[-1] == 1.0
    assert math.isnan(sideways_mean(np.array([1.2, 5.0]), np.array([0.0, 0.0]), window=2)[-1])


def reference_relative_volume(volumes, lookback):
    """Per coin: volume / median of its previous `lookback` volumes (all present and > 0),
    then the median across the coins that have one."""
    frame = pd.DataFrame(volumes).where(lambda v: v > 0)
    usual = frame.shift(1).rolling(lookback).median()
    ratio = frame / usual
    return ratio.median(axis=1, skipna=True).to_numpy()


@both_modes
def test_alt_volume_hold_against_pandas(runonce):
    rng = np.random.default_rng(4)
    n, sp, band, lookback, window = 120, 3, 0.02, 6, 10
    idx = crypto_days(n)
    btc = pd.Series(30000 * np.exp(np.cumsum(rng.normal(0, 0.012, n))))
    alts = [bars(5 * np.exp(np.cumsum(rng.normal(0, 0.05, n))), idx, rng.lognormal(0, 0.4, n) * scale)
            for scale in (1.0, 1e3, 1e7)]
    alts[2] = alts[2].iloc[30:]                                         # listed later
    frames = [bars(btc, idx)] + alts
    out = lines_of(coin_feeds(frames), lambda *d: AltVolumeHold(*d, sideways_period=sp, sideways_band=band,
                                                                 lookback=lookback, window=window), runonce)
    sideways = ((btc / btc.shift(sp) - 1).abs() < band).astype(float).where(btc.shift(sp).notna())
    assert_same(out["sideways"], sideways)
    assert 0 < np.nansum(sideways) < n - 20
    volumes = np.column_stack([f["volume"].reindex(idx).to_numpy() for f in alts])
    ratio = reference_relative_volume(volumes, lookback)
    assert_same(out["ratio"], ratio)
    # the late coin enters the basket only with `lookback` bars of history behind it
    def by_hand(i, coins):
        return np.median(volumes[i, coins] / np.median(volumes[i - lookback:i, coins], axis=0))

    first = 30 + lookback
    assert out["ratio"][first - 1] == by_hand(first - 1, [0, 1])
    assert out["ratio"][first] == by_hand(first, [0, 1, 2])
    on_sideways = pd.Series(np.where(sideways == 1, ratio, NaN))
    hold = on_sideways.rolling(window, min_periods=1).mean()
    hold[:max(lookback, sp) + window - 1] = NaN                         # warm-up
    assert_same(out["hold"], hold)
    assert np.isfinite(out["hold"][-50:]).all()


@both_modes
def test_alt_volume_relative_volume_late_coin_by_hand(runonce):
    idx = crypto_days(12)
    btc = bars(np.full(12, 100.0), idx)
    early = bars(np.full(12, 1.0), idx, np.full(12, 50.0))             # always 1 x its usual volume
    late = bars(np.full(6, 1.0), idx[6:], [10, 10, 10, 40, 10, 10])    # listed at bar 6
    out = lines_of(coin_feeds([btc, early, late]),
                   lambda *d: AltVolumeHold(*d, sideways_period=1, lookback=3, window=2), runonce)
    # bar 9 is the late coin's 4th bar: 40 / median(10, 10, 10) = 4; median(1, 4) = 2.5
    assert_same(out["ratio"], [NaN, NaN, NaN, 1, 1, 1, 1, 1, 1, 2.5, 1, 1])


@both_modes
def test_alt_volume_hold_skips_bars_before_the_basket_lists(runonce):
    # BTC flat (always sideways); the only altcoin lists at bar 10, volumes 2, 3, 1, 2, 3, 1, ...
    idx = crypto_days(20)
    vol = np.tile([2.0, 3.0, 1.0], 4)[:10]
    out = lines_of(coin_feeds([bars(np.full(20, 100.0), idx), bars(np.arange(10.0) + 1, idx[10:], vol)]),
                   lambda *d: AltVolumeHold(*d, sideways_period=1, lookback=3, window=5), runonce)
    assert np.isnan(out["ratio"][:13]).all()
    assert_same(out["ratio"][13:16], [2 / 2, 3 / 2, 1 / 2])
    # hold: the mean of the known ratios among the last 5 sideways bars, not a NaN hole
    assert np.isnan(out["hold"][:13]).all()
    assert_same(out["hold"][13:17], [1.0, 1.25, 1.0, 1.0])


@both_modes
def test_alt_volume_hold_is_nan_without_a_sideways_bar(runonce):
    idx = crypto_days(30)
    btc = bars(100 * 1.05 ** np.arange(30), idx)                       # +5 % a bar: never sideways
    alt = bars(np.full(30, 1.0), idx, np.arange(30) % 4 + 1.0)
    out = lines_of(coin_feeds([btc, alt]), lambda *d: AltVolumeHold(*d, sideways_period=2, sideways_band=0.03,
                                                                     lookback=4, window=5), runonce)
    assert np.all(out["sideways"][2:] == 0)
    assert np.isfinite(out["ratio"][4:]).all()
    assert np.isnan(out["hold"]).all()


# ---------------------------------------------------------------------------- RiskRegime, classify

SIGNAL_NAMES = ("small_cap", "rotation", "eth_trend", "eth_momentum", "failed_breakouts", "alt_volume")


@pytest.fixture
def p():
    return resolve()


def classify_one(signals, settings):
    """`classify` of one bar, the signals given in the order of SIGNAL_NAMES."""
    out = classify({name: np.array([v]) for name, v in zip(SIGNAL_NAMES, signals, strict=True)}, settings)
    return tuple(float(x[0]) for x in out)


@pytest.mark.parametrize("signals,expected", [
    # (small_cap_on, rotation, eth_trend, eth_momentum, failed_rate, volume_hold)
    ((0.0, 0.1, 0.05, 0.02, 0.1, 2.0), (RISK_OFF, 0.0, 1.0, 2)),     # background off: risk-off whatever else
    ((1.0, 0.1, -0.01, 0.02, 0.1, 2.0), (BTC, 1.0, 0.0, 2)),         # ETH/BTC trend down
    ((1.0, 0.1, 0.05, -0.02, 0.1, 2.0), (BTC, 1.0, 0.0, 2)),         # ETH/BTC momentum down
    ((1.0, 0.1, 0.05, 0.02, 0.8, 0.5), (ETH, 1.0, 1.0, 0)),          # no breadth
    ((1.0, 0.1, 0.05, 0.02, 0.2, 0.5), (ALTS, 1.0, 1.0, 1)),         # breakouts stick
    ((1.0, 0.1, 0.05, 0.02, 0.8, 1.3), (ALTS, 1.0, 1.0, 1)),         # volume holds
    ((1.0, 0.1, 0.05, 0.02, 0.5, 1.0), (ALTS, 1.0, 1.0, 2)),         # both thresholds are inclusive
    ((1.0, 0.1, 0.0, 0.02, 0.1, 2.0), (BTC, 1.0, 0.0, 2)),           # trend must be strictly above 0
])
def test_classify_states(p, signals, expected):
    assert classify_one(signals, p) == expected


@pytest.mark.parametrize("signals,expected", [
    ((NaN, 0.1, 0.05, 0.02, 0.1, 2.0), (RISK_OFF, 0.0, 1.0, 2)),
    ((1.0, NaN, NaN, 0.02, 0.1, 2.0), (BTC, 1.0, 0.0, 2)),
    ((1.0, NaN, 0.05, NaN, 0.1, 2.0), (BTC, 1.0, 0.0, 2)),
    ((1.0, NaN, 0.05, 0.02, NaN, NaN), (ETH, 1.0, 1.0, 0)),
    ((1.0, NaN, 0.05, 0.02, NaN, 1.2), (ALTS, 1.0, 1.0, 1)),
])
def test_classify_nan_signals_do_not_confirm(p, signals, expected):
    assert classify_one(signals, p) == expected


def test_classify_rotation_and_breadth_needed(p):
    strong = (1.0, 0.02, 0.05, 0.02, 0.1, 2.0)
    assert classify_one((1.0, -0.5, *strong[2:]), p)[0] == ALTS   # rotation off by default
    p["rotation"]["use"] = True
    assert classify_one(strong, p)[0] == ALTS
    assert classify_one((1.0, -0.01, *strong[2:]), p)[:2] == (RISK_OFF, 0.0)
    assert classify_one((1.0, NaN, *strong[2:]), p)[:2] == (RISK_OFF, 0.0)
    p["breadth"]["needed"] = 2
    assert classify_one(strong, p)[0] == ALTS
    assert classify_one((*strong[:4], 0.9, 2.0), p) == (ETH, 1.0, 1.0, 1)


def regime_setup(equity_hour, start, crypto_freq="D"):
    """BTC, ETH, small cap, large cap and two altcoins. The small cap closes at 90 until the
    Friday session `start` + 9 business days (closing at `equity_hour`:00 UTC) and the
    Monday after, both at 110, then 50 from Tuesday: with level 100 and confirm 1 the
    background is on from that Friday's close to Tuesday's close."""
    eq_idx = sessions(30, start=start, hour=equity_hour)
    friday = eq_idx[9]
    assert friday.day_name() == "Friday"
    small = np.full(30, 90.0)
    small[9:11] = 110.0
    small[11:] = 50.0
    clock = pd.date_range(eq_idx[0].normalize(), eq_idx[-1].normalize() + pd.Timedelta(days=2),
                          freq=crypto_freq, tz="UTC")
    n = len(clock)
    rng = np.random.default_rng(5)
    btc = bars(np.full(n, 100.0), clock)
    eth = bars(np.full(n, 5.0), clock)                                   # constant ETH/BTC: trend 0
    alts = [bars(np.exp(np.cumsum(rng.normal(0, 0.03, n))), clock, rng.uniform(1, 2, n)) for _ in range(2)]
    crypto = [btc, eth] + alts

    def make_feeds():
        feeds = [ListedData.on_clock(f, clock, name=f"C{i}") for i, f in enumerate(crypto)]
        return feeds[:2] + [CloseInstantData(dataname=bars(small, eq_idx), name="SMALL"),
                            CloseInstantData(dataname=bars(np.full(30, 200.0), eq_idx), name="LARGE")] + feeds[2:]

    return make_feeds, clock, friday


REGIME_SMALL = dict(filter={"small_cap": dict(mode="absolute", level=100.0, confirm=1, hysteresis=0.01),
                            "rotation": dict(period=2), "eth_btc": dict(period=2, momentum_period=1),
                            "failed_breakouts": dict(period=3, horizon=1, window=3),
                            "alt_volume": dict(sideways_period=1, lookback=2, window=2)})


@both_modes
@pytest.mark.parametrize("equity_hour,start", [(21, "2024-01-01"), (20, "2024-07-01")], ids=["winter", "summer"])
def test_regime_reads_the_equity_close_known_at_the_crypto_bar_close(runonce, equity_hour, start):
    make_feeds, clock, friday = regime_setup(equity_hour, start)
    out = lines_of(make_feeds, lambda *d: RiskRegime(*d, **REGIME_SMALL), runonce)
    assert len(out["background"]) == len(clock)
    day = friday.normalize()
    on_from, on_to = day + pd.Timedelta(days=1), day + pd.Timedelta(days=4)   # Sat 00:00 .. Tue 00:00
    want = ((clock >= on_from) & (clock <= on_to)).astype(float)
    assert_same(out["background"], want)
    assert out["background"][clock.get_loc(day)] == 0          # Friday 00:00: that day's close is not known
    assert out["background"][clock.get_loc(on_from)] == 1      # Saturday 00:00 sees Friday's close
    assert out["background"][clock.get_loc(on_to + pd.Timedelta(days=1))] == 0   # Tuesday's fake-out
    # ETH/BTC is flat (trend 0, not above 0): background on means the btc regime, off risk-off
    assert_same(out["regime"], np.where(want == 1, BTC, RISK_OFF))


@both_modes
def test_regime_on_4h_bars_sees_an_equity_close_at_the_same_instant(runonce):
    # summer: the equity close at 20:00 UTC is also a 4-hour crypto bar close: that bar sees it
    make_feeds, clock, friday = regime_setup(20, "2024-07-01", crypto_freq="4h")
    out = lines_of(make_feeds, lambda *d: RiskRegime(*d, **REGIME_SMALL), runonce)
    bg = pd.Series(out["background"], index=clock)
    assert bg[friday - pd.Timedelta(hours=4)] == 0
    assert bg[friday] == 1
    tuesday = friday + pd.Timedelta(days=4)
    assert bg[tuesday - pd.Timedelta(hours=4)] == 1 and bg[tuesday] == 0
    assert bg.sum() == 4 * 6
