"""Backtrader's known traps that this project patches: each test shows the patch is needed."""
import math

import backtrader as bt
import numpy as np
import pandas as pd

from canary.feeds import ListedData, on_clock
from canary.strategies.costs import SpotCryptoCommission


def _frame(closes, start="2024-01-02"):
    idx = pd.date_range(start, periods=len(closes), freq="D", tz="UTC", name="close_time")
    c = np.asarray(closes, dtype=float)
    return pd.DataFrame({"open": c, "high": c * 1.01, "low": c * 0.99, "close": c, "volume": 1.0}, index=idx)


def _value_with_unlisted_coin(commission):
    """Portfolio value after buying half a BTC while a second coin is not listed yet (NaN prices)."""
    btc = _frame([40000.0] * 6)
    late = _frame([2.0] * 3, start="2024-01-05")
    clock = btc.index
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(ListedData(dataname=on_clock(btc, clock), name="BTC"))
    cerebro.adddata(ListedData(dataname=on_clock(late, clock), name="LATE"))
    cerebro.broker.setcash(100_000.0)
    if commission is not None:
        cerebro.broker.addcommissioninfo(commission)

    class Probe(bt.Strategy):
        def __init__(self):
            self.values, self.sizes = [], []

        def next(self):
            if len(self) == 1:
                self.buy(data=self.datas[0], size=0.5)
            self.getposition(self.datas[1])  # any look at the late coin's position
            self.values.append(self.broker.getvalue())
            self.sizes.append(self.getposition(self.datas[0]).size)

    cerebro.addstrategy(Probe)
    return cerebro.run()[0]


def test_a_zero_position_in_an_unlisted_coin_poisons_the_value_without_the_patch():
    plain = _value_with_unlisted_coin(None)
    assert any(math.isnan(v) for v in plain.values)  # the trap: 0 * NaN
    patched = _value_with_unlisted_coin(SpotCryptoCommission(commission=0.001))
    assert all(math.isfinite(v) for v in patched.values)
    assert patched.sizes[-1] == 0.5
    fee = 0.5 * 40000.0 * 0.001
    assert patched.values[-1] == 100_000.0 - fee  # half a BTC at an unchanged price, less the fee


def test_sizing_in_whole_units_is_the_default_trap():
    price, cash = 30_000.0, 1_000.0
    assert bt.CommInfoBase(stocklike=True).getsize(price, cash) == 0  # whole units: no BTC at all
    assert SpotCryptoCommission().getsize(price, cash) == cash / price


def test_indicators_plot_headless(tmp_path):
    """cerebro.plot() works without a screen once Agg is chosen and pyplot imported before
    Backtrader's plotting module (which would otherwise switch to TkAgg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401

    from canary.feeds import CloseInstantData
    from canary.indicators import SmallCapBreakout

    closes = 100 + np.sin(np.arange(60) / 5.0) * 10
    idx = pd.bdate_range("2024-01-02", periods=60).tz_localize("UTC") + pd.Timedelta(hours=21)
    frame = pd.DataFrame({"open": closes, "high": closes + 1, "low": closes - 1, "close": closes, "volume": 1.0},
                         index=pd.DatetimeIndex(idx, name="close_time"))
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(CloseInstantData(dataname=frame, name="RUT"))

    class Holder(bt.Strategy):
        def __init__(self):
            self.breakout = SmallCapBreakout(self.data, mode="ma", period=10, confirm=2)

    cerebro.addstrategy(Holder)
    cerebro.run()
    figure = cerebro.plot(iplot=False)[0][0]
    assert matplotlib.get_backend().lower() == "agg"
    figure.savefig(tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    legends = [ax.get_legend() for ax in figure.axes if ax.get_legend() is not None]
    labels = " ".join(t.get_text() for legend in legends for t in legend.get_texts())
    assert "SmallCapBreakout" in labels and "risk_on" in labels
