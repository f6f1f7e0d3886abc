"""Parity of the screening engine with the Backtrader path, as a property over random
configurations: identical regimes, identical fill instants, symbols and sides, values at every
bar within 1e-6 relative (they agree to about 1e-15 in practice).

The configurations are drawn with a fixed seed over every declared [filter] and [strategy]
parameter (`canary.runs.config.declared_rules`: the signals' and the strategy class's own declarations, so a new
parameter is drawn without editing this file): from the wide ranges of `draw` where one is
given here, else from the parameter's declared choices or search range. The categorical keys
cycle so that every weighting, both defensive choices, both fill rules, `use_rotation` and
every filter mode appear, with zero and high costs, short universes, point-in-time universes
(``universe.alts_top``, both missing-price rules), the shipped 4-hour bars and one period
starting inside the warm-up; the README's user strategy (`TrendPair`) is drawn the same way.
`pytest --draws N` sets how many configurations are drawn (24 by default): the first few run in
the default suite, the others and the coverage check are marked slow (CI runs them in its
second step).
"""
import dataclasses
import functools
import json
import math
from itertools import count

import numpy as np
import pandas as pd
import pytest
from readme_plans import install, uninstall

from canary.feeds.market import load_market
from canary.params import Rule
from canary.runs.backtest import plan
from canary.runs.config import declared_rules, load_config, strategy_params
from canary.runs.screening import Screen
from canary.strategies import BtcEthMonthly, BuyAndHold, EqualWeightBasket, SmallCapRotation, run_backtest
from canary.strategies.screening import run_fast

ALTS = ["BNB-USDT", "LTC-USDT", "ADA-USDT", "XRP-USDT", "XLM-USDT", "TRX-USDT", "ETC-USDT", "LINK-USDT",
        "XMR-USDT", "MATIC-USDT", "ATOM-USDT", "DOGE-USDT", "BCH-USDT", "SOL-USDT", "DOT-USDT", "UNI-USDT",
        "AVAX-USDT", "SHIB-USDT"]
ALTS_4H = ["BNB-USDT-4h", "SOL-USDT-4h", "ADA-USDT-4h", "XRP-USDT-4h"]
FAST_DRAWS = 5
RTOL = 1e-6
OWN_KEYS = ("costs.", "universe.", "data.")   # drawn here: not parameters of a class


def from_declaration(rule, i, rng, fewest_bars=None):
    """A value of a parameter drawn from its declaration: a choice (cycling with `i`), a switch,
    a value of its search range, or, for a window without one, a count of bars from
    `fewest_bars` or (every other draw) a duration; None if the declaration gives nothing."""
    if rule.choices:
        return rule.choices[i % len(rule.choices)]
    if rule.kind is bool:
        return bool((i // 3) % 2)
    space = rule.space
    if isinstance(space, list):
        return space[int(rng.integers(len(space)))]
    if isinstance(space, dict):
        values = np.arange(space["low"], space["high"] + space["step"] / 2, space["step"])
        return type(space["low"])(values[int(rng.integers(len(values)))])
    if fewest_bars is not None:
        bars = int(rng.integers(fewest_bars, fewest_bars + 60))
        return f"{bars}d" if i % 2 else bars
    return None


def drawn(settings, cls, i, rng):
    """`settings` with every declared parameter of `cls` it does not give drawn from its declaration."""
    windows = getattr(cls, "WINDOWS", {})
    for key, rule in declared_rules(cls).items():
        if key not in settings:
            value = from_declaration(rule, i, rng, windows.get(key.split(".", 1)[1]) if key.startswith("strategy.")
                                     else None)
            if value is not None:
                settings[key] = value
    return settings


def draw(i, seed=20261125):
    """The i-th random configuration, as --set overrides."""
    rng = np.random.default_rng([seed, i])
    u = rng.uniform
    r = rng.integers

    def window(lo, hi):
        """A crypto window, as a bar count or (every other draw) as a duration in days."""
        bars = int(r(lo, hi))
        return f"{bars}d" if i % 2 else bars

    modes = ("absolute", "channel", "ma")
    s = {
        "filter.small_cap.mode": modes[i % 3],
        "filter.small_cap.level": float(round(u(1100, 2300), 1)),
        "filter.small_cap.period": int(r(10, 150)),
        "filter.small_cap.distance": float(round(u(-0.04, 0.04), 4)),
        "filter.small_cap.confirm": int(r(1, 10)),
        "filter.small_cap.hysteresis": float(round(u(0, 0.05), 4)),
        "filter.rotation.use": bool((i // 3) % 2),
        "filter.rotation.period": int(r(5, 80)),
        "filter.rotation.min_strength": float(round(u(-0.02, 0.02), 4)),
        "filter.eth_btc.period": window(3, 60),
        "filter.eth_btc.momentum_period": window(2, 30),
        "filter.eth_btc.min_trend": float(round(u(-0.03, 0.02), 4)),
        "filter.eth_btc.min_momentum": float(round(u(-0.03, 0.02), 4)),
        "filter.failed_breakouts.period": window(3, 40),
        "filter.failed_breakouts.horizon": window(1, 10),
        "filter.failed_breakouts.window": window(5, 60),
        "filter.failed_breakouts.max_rate": float(round(u(0.2, 0.9), 3)),
        "filter.alt_volume.sideways_period": window(2, 14),
        "filter.alt_volume.sideways_band": float(round(u(0.01, 0.1), 3)),
        "filter.alt_volume.lookback": window(5, 60),
        "filter.alt_volume.window": window(5, 60),
        "filter.alt_volume.min_hold": float(round(u(0.6, 1.4), 3)),
        "filter.breadth.needed": int(r(0, 3)),
        "strategy.defensive": ("cash", "btc")[i % 2],
        "strategy.eth_weight": float(round(u(0, 1), 3)) if i % 4 else 1.0,
        "strategy.alt_core": float(round(u(0, 0.6), 3)) if i % 5 else 0.0,
        "strategy.weighting": ("equal", "inverse_vol", "momentum")[(i // 2) % 3],
        "strategy.top_k": int(r(1, 8)),
        "strategy.min_history": window(1, 60),
        "strategy.vol_window": window(2, 60),
        "strategy.momentum_window": window(1, 60),
        "strategy.min_hold": window(0, 8),
        "strategy.rebalance_every": window(0, 15),
        "strategy.drift_band": float(round(u(0, 0.08), 4)),
        "strategy.cash_buffer": float(round(u(0, 0.03), 4)) if i % 6 else 0.0,
        "costs.fee_bp": (0.0, 10.0, 150.0)[i % 3 if i % 7 else 0],
        "costs.slippage_bp": (0.0, 5.0, 300.0)[(i // 3) % 3 if i % 7 else 0],
        "costs.fill": ("open", "close")[(i // 4) % 2],
    }
    alts = [str(a) for a in rng.choice(ALTS, size=int(r(2, 7)) if i % 8 else len(ALTS), replace=False)]
    s["universe.alts"] = alts
    if i == 0:
        start, months = pd.Timestamp("2017-09-05"), 9      # trading starts inside the warm-up
    else:
        start = pd.Timestamp("2018-01-01") + pd.Timedelta(days=int(r(0, 1000)))
        months = int(r(3, 12))
    s["data.start"] = start.date().isoformat()
    s["data.end"] = (start + pd.DateOffset(months=months)).date().isoformat()
    if i % 6 == 5:   # a point-in-time universe: the top N of the ranking snapshots (the alts list unused)
        s["universe.alts_top"] = int(r(3, 15))
        s["universe.missing"] = ("cash", "renormalise")[(i // 6) % 2]
    if i % 6 == 2:   # the shipped 4-hour bars: a few months, bar-count windows in 4-hour bars
        s.update({"universe.btc": "BTC-USDT-4h", "universe.eth": "ETH-USDT-4h",
                  "universe.alts": [str(a) for a in rng.choice(ALTS_4H, size=int(r(2, 5)), replace=False)]})
        s["data.end"] = (start + pd.DateOffset(months=min(months, 3))).date().isoformat()
    return drawn(s, SmallCapRotation, i, rng)


def overrides(settings):
    out = []
    for key, value in settings.items():
        if isinstance(value, str):
            out.append(f'{key}="{value}"')
        elif isinstance(value, bool):
            out.append(f"{key}={str(value).lower()}")
        elif isinstance(value, list):
            out.append(f"{key}={json.dumps(value)}")
        else:
            out.append(f"{key}={value}")
    return out


def setup(settings):
    config = load_config(None, overrides(settings))
    p = plan(config)
    market = load_market(p.library, p.universe, config.data.start, config.data.end)
    return config, p, market


@functools.cache
def reference(i):
    """The i-th draw and its Backtrader run (once per test process)."""
    settings = draw(i)
    config, p, market = setup(settings)
    return settings, run_backtest(market, *strategy_params(config), p.costs)


def pytest_generate_tests(metafunc):
    if "i" in metafunc.fixturenames:
        draws = metafunc.config.getoption("draws")
        metafunc.parametrize("i", [pytest.param(i, marks=[pytest.mark.slow] if i >= FAST_DRAWS else [])
                                   for i in range(draws)])


def fill_keys(fills):
    return [(pd.Timestamp(d).value, str(s), str(side)) for d, s, side in zip(fills["date"], fills["symbol"],
                                                                           fills["side"], strict=True)]


def problems(reference, fast):
    """What differs between a Backtrader result and a screening result (empty: parity)."""
    out = []
    if not reference.equity.index.equals(fast.equity.index):
        return ["the bars recorded differ"]
    if reference.regimes is not None and not np.array_equal(reference.regimes.to_numpy(), fast.regimes.to_numpy()):
        bad = np.flatnonzero(reference.regimes.to_numpy() != fast.regimes.to_numpy())
        out.append(f"regimes differ on {len(bad)} bars, first {reference.regimes.index[bad[0]]}")
    a, b = fill_keys(reference.fills), fill_keys(fast.fills)
    if a != b:
        out.append(f"fills differ: {len(a)} against {len(b)}")
    rel = (fast.equity / reference.equity - 1.0).abs().max()
    if not rel <= RTOL:
        out.append(f"values differ by up to {rel:.3g} relative")
    if reference.rejected != fast.rejected:
        out.append(f"refused orders: {reference.rejected} against {fast.rejected}")
    return out


def fast_run(settings, **changes):
    """The screening engine's run of the rotation under `settings`: its own signals and regimes."""
    config, p, market = setup(settings)
    return Screen(market, dataclasses.replace(config.costs, **changes)).run(config)


@pytest.mark.slow
def test_the_draws_cover_every_choice(request):
    references = [reference(i) for i in range(request.config.getoption("draws"))]
    draws = [d for d, _ in references]
    for key, values in {"strategy.weighting": {"equal", "inverse_vol", "momentum"},
                        "strategy.defensive": {"cash", "btc"}, "costs.fill": {"open", "close"},
                        "filter.rotation.use": {True, False},
                        "filter.small_cap.mode": {"absolute", "channel", "ma"},
                        "costs.fee_bp": {0.0, 150.0}, "costs.slippage_bp": {0.0, 300.0}}.items():
        assert {d[key] for d in draws} >= values, key
    assert {type(d["strategy.min_hold"]) for d in draws} == {int, str}   # bar counts and durations
    assert any(len(d["universe.alts"]) <= 3 for d in draws)
    assert {d.get("universe.missing") for d in draws} >= {"cash", "renormalise"}   # point-in-time draws
    assert draws[0]["data.start"] < "2017-11-01"     # inside the warm-up of the indicators
    # the draws exercise the strategy: every regime, refused orders, many fills
    regimes = set(np.concatenate([r.regimes.to_numpy() for _, r in references]).astype(int))
    assert regimes == {0, 1, 2, 3}
    assert sum(len(r.fills) for _, r in references) > 1000


def test_the_screening_engine_reproduces_backtrader(i):
    settings, backtrader = reference(i)
    fast = fast_run(settings)
    assert problems(backtrader, fast) == []
    # beyond the property: sizes, prices and fees of every fill agree too
    for column in ("size", "price", "fee"):
        np.testing.assert_allclose(fast.fills[column].to_numpy(dtype=float),
                                   backtrader.fills[column].to_numpy(dtype=float), rtol=1e-9, atol=1e-9)


@pytest.mark.slow
def test_the_parity_check_catches_a_wrong_variant():
    """A screening run with a planted mistake must fail the same check."""
    settings, backtrader = next((d, r) for d, r in map(reference, count()) if d["costs.fill"] == "open"
                                and len(r.fills) > 20 and d["costs.slippage_bp"] > 0)
    look_ahead = fast_run(settings, fill="close")            # fills at the decision close
    assert any("fills differ" in p or "values differ" in p for p in problems(backtrader, look_ahead))
    cheaper = fast_run(settings, fee_bp=settings["costs.fee_bp"] + 1)   # one basis point off
    assert any("values differ" in p for p in problems(backtrader, cheaper))


@pytest.fixture(scope="module")
def short_market():
    return setup({"data.start": "2019-06-01", "data.end": "2020-09-30"})


@pytest.mark.parametrize("cls,params", [(BuyAndHold, {"symbol": "ETH-USDT"}), (EqualWeightBasket, {}),
                                        (BtcEthMonthly, {})])
@pytest.mark.parametrize("fill", ["open", "close"])
def test_the_benchmarks_on_the_kernel(short_market, cls, params, fill):
    config, p, market = short_market
    costs = dataclasses.replace(config.costs, fill=fill)
    backtrader = run_backtest(market, cls, params, costs)
    fast = run_fast(market, cls, params, costs)
    assert problems(backtrader, fast) == []
    assert list(fast.portfolio.columns) == list(backtrader.portfolio.columns)
    assert math.isclose(fast.fees, backtrader.fees, rel_tol=1e-9)


def test_every_declared_parameter_is_drawn_and_varied(request):
    """A parameter declared tomorrow is drawn without editing this file; one whose declaration
    gives no choices, no search range and no window would stay at its default, and fails here."""
    draws = [draw(i) for i in range(max(request.config.getoption("draws"), 12))]
    keys = declared_rules(SmallCapRotation)
    for key in keys:
        values = {json.dumps(d[key]) for d in draws if key in d}
        assert len(values) >= 2, f"{key}: not varied by the draws (declare its search range)"
    stale = {k for d in draws for k in d if not k.startswith(OWN_KEYS)} - set(keys)
    assert stale == set(), f"drawn but not declared: {sorted(stale)}"
    assert any(d.get("universe.btc") == "BTC-USDT-4h" for d in draws)   # 4-hour draws are among them


@pytest.fixture(scope="module")
def trend_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plans")
    yield install(folder).TrendPair
    uninstall(folder)


@pytest.mark.parametrize("j", range(3))
def test_the_readme_user_strategy_reproduces_backtrader(trend_pair, j):
    rng = np.random.default_rng([20261207, j])
    start = pd.Timestamp("2019-01-01") + pd.Timedelta(days=int(rng.integers(0, 1800)))
    suffix = "-4h" if j == 1 else ""
    settings = drawn({"strategy.class": "my_plans:TrendPair", "universe.btc": f"BTC-USDT{suffix}",
                      "universe.eth": f"ETH-USDT{suffix}", "universe.alts": [f"BNB-USDT{suffix}"],
                      "data.start": start.date().isoformat(),
                      "data.end": (start + pd.DateOffset(months=4 if suffix else 12)).date().isoformat(),
                      "costs.fee_bp": float(rng.choice([0.0, 10.0, 100.0])),
                      "costs.fill": ("open", "close")[j % 2]}, trend_pair, j, rng)
    assert "strategy.window" in settings
    config, p, market = setup(settings)
    backtrader = run_backtest(market, *strategy_params(config), p.costs)
    fast = Screen(market, p.costs).run(config)
    assert len(backtrader.fills) > 3, settings          # it trades: the comparison means something
    assert problems(backtrader, fast) == []


def test_a_newly_declared_parameter_is_drawn():
    class Knobbed(SmallCapRotation):
        params = (("knob", 0.5), ("knob_window", "10d"))
        param_rules = {"knob": Rule(lambda v: 0 <= v <= 1, "in [0, 1]", space=[0.1, 0.5, 0.9])}
        WINDOWS = dict(SmallCapRotation.WINDOWS, knob_window=2)

    draws = [drawn({}, Knobbed, i, np.random.default_rng(i)) for i in range(12)]
    assert {d["strategy.knob"] for d in draws} == {0.1, 0.5, 0.9}
    assert len({str(d["strategy.knob_window"]) for d in draws}) > 3
    assert all(isinstance(w, int) and w >= 2 or w.endswith("d") for w in (d["strategy.knob_window"] for d in draws))
