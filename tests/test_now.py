"""`canary now`: the regime at an instant is the backtest's at that bar, and says what would flip it."""
import functools
import json
import math

import numpy as np
import pandas as pd
import pytest
import requests
import responses
from clirun import main
from test_fetch import FIXTURES, FakeBinance, utc

from canary.feeds import exchange
from canary.feeds.fetch import fetch
from canary.feeds.market import load_market
from canary.indicators.signals import evaluate, registry, resolve
from canary.runs.backtest import plan
from canary.runs.config import load_config, regime_params, strategy_params
from canary.runs.live.now import CHANGED_EXIT, MOVED, FlipFinder, canary_now, refresh
from canary.runs.report.metrics import regime_names
from canary.runs.screening import signal_inputs
from canary.strategies import run_backtest

DAILY = ('universe.alts=["BNB-USDT", "SOL-USDT"]',)
FOUR_HOUR = ('universe.btc="BTC-USDT-4h"', 'universe.eth="ETH-USDT-4h"',
             'universe.alts=["BNB-USDT-4h", "SOL-USDT-4h"]')


def small_config(overrides, start):
    return load_config(None, overrides, [("data", "start", start)])


@pytest.mark.parametrize("overrides, start", [(DAILY, "2024-01-01"), pytest.param(FOUR_HOUR, "2025-03-01", marks=pytest.mark.slow)],
                         ids=["daily", "4-hour"])
def test_as_of_any_instant_gives_the_backtests_regime_signals_and_weights_at_that_bar(overrides, start):
    config = small_config(overrides, start)
    p = plan(config)
    market = load_market(p.library, p.universe, start)
    cls, params = strategy_params(config)
    reference = run_backtest(market, cls, params, p.costs)   # Backtrader, the whole history at once
    regimes = regime_names(reference.regimes)
    weights = reference.weights()
    cash = reference.portfolio["cash"] / reference.portfolio["value"]
    signals = evaluate(signal_inputs(market), regime_params(config), market.interval)
    rng = np.random.default_rng(19)
    trading = market.clock[market.clock >= market.start]
    # random instants between bar closes (the bar is the last close at or before), and the last bar
    picks = sorted(rng.choice(len(trading) - 1, size=7, replace=False))
    instants = [trading[i] + market.interval * rng.uniform(0, 0.99) for i in picks] + [trading[-1]]
    for instant in instants:
        now = canary_now(config, instant.isoformat())
        bar = market.clock[market.clock <= instant][-1]
        at = market.clock.get_loc(bar)
        assert now.bar == bar
        assert now.regime == regimes[bar]
        for s in now.signals:
            expected = signals[s.name][at]
            assert (math.isnan(s.value) and math.isnan(expected)) or s.value == pytest.approx(expected, rel=1e-12)
        held = {k: v for k, v in weights.loc[bar].items() if v != 0.0}
        assert set(now.weights) == set(held) | {"cash"}
        for symbol, weight in held.items():
            assert now.weights[symbol] == pytest.approx(weight, abs=1e-9)
        assert now.weights["cash"] == pytest.approx(cash[bar], abs=1e-9)
        assert now.changed == (at > 0 and signals["regime"][at] != signals["regime"][at - 1])


def test_now_on_the_shipped_data_prints_the_regime_every_signal_its_flip_the_weights_and_ages():
    result = main("now")
    assert result.returncode in (0, CHANGED_EXIT), result.stderr
    out = result.stdout
    assert out.startswith("regime at 2026-01-06: ")
    for s in registry():
        assert f"  {s.name} " in out
    assert out.count("turns off at a close below") + out.count("turns on") >= 3   # small caps and ETH/BTC
    assert "holds at this close: " in out
    assert "RUT        last close 2026-01-05T21:00:00+00:00" in out and "STALE" in out
    as_json = json.loads(main("now", "--json").stdout)
    assert as_json["bar"] == "2026-01-06"
    assert out.startswith(f"regime at 2026-01-06: {as_json['regime']} ")
    assert {s["name"] for s in as_json["signals"]} == {s.name for s in registry()}
    assert sum(as_json["weights"].values()) == pytest.approx(1.0, abs=1e-9)
    assert result.returncode == (CHANGED_EXIT if as_json["changed"] else 0)


def test_the_exit_status_says_whether_the_regime_changed_at_the_bar():
    last = canary_now(small_config(DAILY, "2024-01-01"))
    change = last.changes[-1][0]
    assert main("now", "--set", DAILY[0], "--as-of", change.isoformat()).returncode == CHANGED_EXIT
    after = change + pd.Timedelta(days=1)
    assert last.bar == after or main("now", "--set", DAILY[0], "--as-of", after.isoformat()).returncode == 0


def test_each_flip_price_is_where_the_signal_turns_at_the_next_bar():
    config = small_config(DAILY, "2024-01-01")
    now = canary_now(config, "2025-06-15")
    p = plan(config)
    market = load_market(p.library, p.universe, "2024-01-01", "2025-06-15")
    settings = resolve(regime_params(config))
    finder = FlipFinder(market, settings)
    checked = 0
    for s, found in zip(registry(), now.signals, strict=True):
        if s.name not in MOVED or not found.active or found.flip["close"] is None:
            continue
        factor = found.flip["close"] / found.flip["last_close"]
        if s.name == "small_cap":
            line, turned = ("risk_on", lambda v: v == 1.0) if found.on else ("streak", lambda v: v > 0)
        else:
            line, turned = s.line, (lambda v, s=s: bool(s.holds([v], settings)[0]))
        above = turned(finder.lines(s, MOVED[s.name], factor * (1 + 1e-6))[line][-1])
        below = turned(finder.lines(s, MOVED[s.name], factor * (1 - 1e-6))[line][-1])
        assert above and not below, s.name
        checked += 1
    assert checked >= 3


def test_an_as_of_before_trading_or_not_an_instant_is_one_line():
    for given, says in (("2010-01-01", "before data.start 2018-01-01"), ("soon", "'soon' is not a date or time")):
        result = main("now", "--as-of", given)
        assert result.returncode == 2 and says in result.stderr and result.stderr.count("\n") == 1


@pytest.fixture
def binance():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        client = exchange.connect("binance", session=requests.Session())
        client.enableRateLimit = False
        client.set_markets([json.loads((FIXTURES / "binance_klines_BTCUSDT_1d.json").read_text())["market"]])
        yield mock, client


def test_refresh_fetches_the_configured_sources_and_offline_says_so_in_one_line(binance, tmp_path, monkeypatch):
    mock, client = binance
    server = FakeBinance(mock, now="2024-01-06 12:00")
    config = load_config(None, ['sources."BTC/USDT"="ccxt:binance"', f'data.cache_dir="{tmp_path}"'])
    fetcher = functools.partial(fetch, client=client, now=utc("2024-01-06 12:00"), sleep=lambda s: None)
    assert refresh(config, fetcher) is None
    assert list(tmp_path.rglob("*.parquet"))

    server.fail_from = len(server.starts) + 1   # the network goes away
    monkeypatch.setattr("canary.feeds.fetch.fetch", fetcher)
    result = main("now", "--refresh", "--set", 'sources."BTC/USDT"="ccxt:binance"',
                  "--set", f'data.cache_dir="{tmp_path}"')
    assert result.returncode in (0, CHANGED_EXIT)
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("canary: --refresh: could not refresh BTC/USDT (")
    assert result.stderr.rstrip().endswith("using what is cached")
    assert result.stdout.startswith("regime at 2026-01-06: ")
