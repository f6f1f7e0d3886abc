"""No indicator looks ahead, on the shipped data.

For seeded random cut instants T, every line of every indicator is identical up to T whether
the data end at T (each frame cut to the close instants <= T, the master clock too) or go on.
The full RiskRegime holds every other indicator (SmallCapBreakout on the Russell 2000,
SmallVsLargeCap on RUT / SPX, EthBtcStrength, FailedBreakoutRate and AltVolumeHold on the
altcoin basket), so one regime run checks them all; SmallCapBreakout's other two modes run
on their own.
"""
import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from canary.feeds import CloseInstantData, DataLibrary, ListedData, master_clock
from canary.feeds.alignment import on_clock
from canary.feeds.btfeeds import bt_datetimes
from canary.indicators import ALTS, BTC, ETH, RISK_OFF, RiskRegime, SmallCapBreakout, evaluate

REGIME = {"small_cap": dict(mode="ma", period=100, confirm=5, hysteresis=0.02)}
# section of RiskRegime.parts -> (clock, its lines)
PARTS = {
    "small_cap": ("equity", ("level", "streak", "risk_on", "trigger")),
    "rotation": ("equity", ("ratio", "average", "strength")),
    "eth_btc": ("crypto", ("ratio", "average", "trend", "momentum")),
    "failed_breakouts": ("crypto", ("failed", "resolved", "rate")),
    "alt_volume": ("crypto", ("sideways", "ratio", "hold")),
}


@pytest.fixture(scope="module")
def shipped():
    lib = DataLibrary()
    coins = [s for s in lib.symbols() if s.endswith("-USDT")]
    alts = [s for s in coins if s not in ("BTC-USDT", "ETH-USDT")]
    assert len(alts) == 18
    order = ["BTC-USDT", "ETH-USDT"] + alts
    return {"crypto": {s: lib.load(s).frame for s in order},
            "small": lib.load("RUT").frame, "large": lib.load("SPX").frame}


def cut(data, instant):
    """The shipped frames as if the data ended at `instant`."""
    return {"crypto": {s: f[f.index <= instant] for s, f in data["crypto"].items()},
            "small": data["small"][data["small"].index <= instant],
            "large": data["large"][data["large"].index <= instant]}


def clock_of(data):
    return master_clock(list(data["crypto"].values()))


def run_regime(data, runonce):
    """All lines of a RiskRegime run (``part.line`` for the sub-indicators) and the clocks."""
    clock = clock_of(data)
    feeds = [ListedData.on_clock(f, clock, name=s) for s, f in data["crypto"].items()]
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=True)
    for feed in feeds[:2] + [CloseInstantData(dataname=data["small"], name="RUT"),
                             CloseInstantData(dataname=data["large"], name="SPX")] + feeds[2:]:
        cerebro.adddata(feed)

    class Holder(bt.Strategy):
        def __init__(self):
            self.regime = RiskRegime(*self.datas, filter=REGIME)

    cerebro.addstrategy(Holder)
    reg = cerebro.run()[0].regime
    out = {name: np.asarray(getattr(reg.lines, name).array, dtype=float) for name in reg.lines.getlinealiases()}
    sizes = {name: len(clock) for name in out}
    for part, (kind, names) in PARTS.items():
        for name in names:
            out[f"{part}.{name}"] = np.asarray(getattr(reg.parts[part].lines, name).array, dtype=float)
            sizes[f"{part}.{name}"] = len(clock) if kind == "crypto" else len(data["small"])
    return out, sizes


def run_breakout(frame, runonce, **params):
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=True)
    cerebro.adddata(CloseInstantData(dataname=frame, name="RUT"))

    class Holder(bt.Strategy):
        def __init__(self):
            self.breakout = SmallCapBreakout(self.data, **params)

    cerebro.addstrategy(Holder)
    ind = cerebro.run()[0].breakout
    return {name: np.asarray(getattr(ind.lines, name).array, dtype=float) for name in ind.lines.getlinealiases()}


def cut_instants(data, count, seed, last=None):
    """`count` seeded random instants inside the crypto history, before its `last` fraction
    (any hour of the day, so some fall after an equity close but before the next crypto bar
    close)."""
    clock = clock_of(data)
    rng = np.random.default_rng(seed)
    end = int(len(clock) * last) if last else len(clock) - 30
    positions = np.sort(rng.integers(400, end, size=count))
    hours = rng.integers(0, 24, size=count)
    return [clock[p] + pd.Timedelta(hours=int(h)) for p, h in zip(positions, hours, strict=True)]


def instants_before_changes(values, index, rng, lo, hi, before):
    """A seeded random choice among the instants `before` a bar (of `index`, between the
    instants lo and hi) whose value differs from the bar before it: a cut there is where
    any look-ahead would show (the full run would move the change earlier)."""
    changes = np.flatnonzero(np.diff(values) != 0) + 1
    changes = changes[(index[changes] > lo) & (index[changes] < hi)]
    assert len(changes) >= 3
    return index[rng.choice(changes)] - before


def assert_prefix(full, part, sizes, where):
    assert full.keys() == part.keys()
    for name in full:
        assert len(part[name]) == sizes[name], f"{name}: the cut run has {len(part[name])} bars, not {sizes[name]}"
        np.testing.assert_array_equal(part[name], full[name][:sizes[name]],
                                      err_msg=f"{name} differs up to {where} when the data end there")


@pytest.fixture(scope="module")
def full_once(shipped):
    return run_regime(shipped, runonce=True)


@pytest.fixture(scope="module")
def full_next(shipped):
    return run_regime(shipped, runonce=False)


def test_regime_full_run_is_the_same_in_both_modes(shipped, full_once, full_next):
    once, sizes = full_once
    nxt, _ = full_next
    for name, values in once.items():
        assert len(values) == sizes[name]
        np.testing.assert_array_equal(nxt[name], values, err_msg=f"{name}: runonce vs next")
    # the comparison means something: all four regimes occur, and every signal has values
    assert set(np.unique(once["regime"])) == {RISK_OFF, BTC, ETH, ALTS}
    for name, values in once.items():
        assert np.isfinite(values).sum() > len(values) // 2, name


def test_the_array_path_gives_the_regime_of_the_indicators(shipped, full_once):
    # the screening engine's contract: `evaluate` on plain arrays equals RiskRegime's lines
    clock = clock_of(shipped)
    on = {s: on_clock(f, clock) for s, f in shipped["crypto"].items()}

    def role(frame):
        return {"close": frame["close"].to_numpy(), "volume": frame["volume"].to_numpy(),
                "datetime": bt_datetimes(frame.index)}

    symbols = list(on)
    arrays = {"btc": role(on[symbols[0]]), "eth": role(on[symbols[1]]), "small_cap": role(shipped["small"]),
              "large_cap": role(shipped["large"]),
              "alts": {k: np.column_stack([role(on[s])[k] for s in symbols[2:]]) for k in ("close", "volume")}}
    got = evaluate(arrays, REGIME, interval=pd.Timedelta(days=1))
    for line in ("regime", "background", "eth_strong", "breadth"):
        np.testing.assert_array_equal(got[line], full_once[0][line], err_msg=line)
    np.testing.assert_array_equal(got["alt_volume"], full_once[0]["alt_volume.hold"])


def regime_cut(shipped, full, kind, seed, last=1.0):
    """A cut instant: `random`, or just before a regime change (on the crypto clock) or
    just before a session whose close flips the small-cap signal (on the equity clock)."""
    clock = clock_of(shipped)
    rng = np.random.default_rng(seed)
    lo, hi = clock[400], clock[int(len(clock) * last) - 30]
    if kind == "random":
        return cut_instants(shipped, 1, seed, last=last)[0]
    if kind == "regime-change":
        return instants_before_changes(full["regime"], clock, rng, lo, hi, pd.Timedelta(seconds=1))
    return instants_before_changes(full["small_cap.risk_on"], shipped["small"].index, rng, lo, hi,
                                   pd.Timedelta(minutes=30))


@pytest.mark.parametrize("kind", ["random", "regime-change", "small-cap-flip"])
def test_regime_lines_up_to_t_do_not_depend_on_later_data_runonce(shipped, full_once, kind):
    instant = regime_cut(shipped, full_once[0], kind, seed=11)
    part = cut(shipped, instant)
    values, sizes = run_regime(part, runonce=True)
    assert sizes["regime"] == (clock_of(shipped) <= instant).sum()
    assert_prefix(full_once[0], values, sizes, instant)


def test_regime_lines_up_to_t_do_not_depend_on_later_data_next(shipped, full_next):
    # half an hour before the close of a session that flips the small-cap signal, in the
    # first half of the data (a bar-by-bar run costs about 3 ms a bar)
    instant = regime_cut(shipped, full_next[0], "small-cap-flip", seed=12, last=0.5)
    part = cut(shipped, instant)
    values, sizes = run_regime(part, runonce=False)
    assert_prefix(full_next[0], values, sizes, instant)


@pytest.mark.parametrize("params", [dict(mode="absolute", level=2000.0, confirm=3, hysteresis=0.02),
                                    dict(mode="channel", period=20, confirm=3, hysteresis=0.01),
                                    dict(mode="ma", period=50, distance=0.01, confirm=5, hysteresis=0.01)],
                         ids=["absolute", "channel", "ma"])
def test_breakout_modes_up_to_t_do_not_depend_on_later_data(shipped, params):
    rut = shipped["small"]
    full = {ro: run_breakout(rut, ro, **params) for ro in (True, False)}
    for name in full[True]:
        np.testing.assert_array_equal(full[False][name], full[True][name], err_msg=f"{name}: runonce vs next")
    on = full[True]["risk_on"]
    assert np.nansum(np.abs(np.diff(on))) >= 4      # the state machine switches on the real data
    for k, instant in enumerate(cut_instants(shipped, 3, seed=13)):
        part = rut[rut.index <= instant]
        for ro in (True, False) if k == 0 else (True,):
            values = run_breakout(part, ro, **params)
            assert_prefix(full[ro], values, {name: len(part) for name in values}, instant)
