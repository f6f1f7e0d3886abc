"""The indicators on plain Backtrader feeds: they work, or refuse in one line what they need.

The README's plain-Backtrader example is run as written, and its figures are checked
against the signal functions on the same arrays.
"""
import contextlib
import io
import re
from pathlib import Path

import backtrader as bt
import numpy as np
import pytest

from canary.errors import ConfigError
from canary.feeds import DataLibrary
from canary.indicators import (
    AltVolumeHold,
    BreakoutOutcomes,
    EthBtcStrength,
    FailedBreakoutRate,
    RiskRegime,
    SmallCapBreakout,
    SmallVsLargeCap,
    eth_btc_strength,
)

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example():
    text = README.read_text()
    marker = text.index("<!-- plain-backtrader-example")
    return re.search(r"```python\n(.*?)```", text[marker:], re.S).group(1)


def test_the_readme_plain_backtrader_example_runs_and_means_what_it_says():
    out = io.StringIO()
    namespace = {}
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), "README example", "exec"), namespace)
    watch = namespace["watch"]
    lib = DataLibrary()
    eth, btc = (lib.load(s).frame["close"].to_numpy() for s in ("ETH-USDT", "BTC-USDT"))
    trend = eth_btc_strength(eth, btc, 30, 14)[2]
    np.testing.assert_array_equal(np.asarray(watch.eth_btc.trend.array), trend)
    assert f"ETH/BTC trend {trend[-1]:+.4f}" in out.getvalue()
    assert np.nansum(np.abs(np.diff(np.asarray(watch.small_caps.risk_on.array)))) >= 4


def plain(symbol):
    return bt.feeds.PandasData(dataname=DataLibrary().load(symbol).frame.tz_convert(None), name=symbol)


def run_on_plain(make, runonce):
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    for symbol in ("ETH-USDT", "BTC-USDT", "RUT", "SPX", "SOL-USDT"):
        cerebro.adddata(plain(symbol))

    class Holder(bt.Strategy):
        def __init__(self):
            self.held = make(*self.datas)

    cerebro.addstrategy(Holder)
    return cerebro.run()[0].held


@pytest.mark.parametrize("make", [
    lambda eth, btc, rut, spx, sol: EthBtcStrength(eth, btc),
    lambda eth, btc, rut, spx, sol: FailedBreakoutRate(eth, btc),
    lambda eth, btc, rut, spx, sol: BreakoutOutcomes(eth, btc),
    lambda eth, btc, rut, spx, sol: AltVolumeHold(btc, eth),
    lambda eth, btc, rut, spx, sol: SmallVsLargeCap(rut, spx),
    lambda eth, btc, rut, spx, sol: SmallCapBreakout(rut),
], ids=["EthBtcStrength", "FailedBreakoutRate", "BreakoutOutcomes", "AltVolumeHold", "SmallVsLargeCap",
        "SmallCapBreakout"])
def test_each_indicator_works_on_plain_feeds_with_the_bars_it_needs(make):
    held = run_on_plain(make, runonce=True)    # (both modes agree: tests/test_indicators.py)
    result = held.lines.getlinealiases()[-1]          # rate, resolved, hold, strength, trigger, momentum
    assert np.isfinite(np.asarray(getattr(held.lines, result).array)).sum() > 1000, result


@pytest.mark.parametrize("runonce", [True, False], ids=["runonce", "next"])
@pytest.mark.parametrize("make,words", [
    (lambda eth, btc, rut, spx, sol: EthBtcStrength(eth, sol), "feeds on one crypto clock.*ListedData.on_clock"),
    (lambda eth, btc, rut, spx, sol: AltVolumeHold(btc, eth, sol), "feeds on one crypto clock.*ListedData.on_clock"),
    (lambda eth, btc, rut, spx, sol: EthBtcStrength(eth), "needs 2 feed"),
    (lambda eth, btc, rut, spx, sol: SmallVsLargeCap(rut), "needs 2 feeds"),
    (lambda eth, btc, rut, spx, sol: RiskRegime(btc, eth), "needs the feeds btc, eth, small_cap, large_cap"),
    (lambda eth, btc, rut, spx, sol: RiskRegime(btc, eth, rut, spx, sol), "feeds on one crypto clock"),
], ids=["other-clock", "basket-other-clock", "too-few", "too-few-equity", "regime-too-few", "regime-other-clock"])
def test_feeds_an_indicator_cannot_use_are_refused_in_one_line(make, words, runonce):
    with pytest.raises(ConfigError, match=words) as err:
        run_on_plain(make, runonce)
    assert "\n" not in str(err.value)
