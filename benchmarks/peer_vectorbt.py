"""The screening kernel beside vectorbt on the same target weights: prints figures, asserts nothing.

    pip install -r benchmarks/requirements.txt    # vectorbt, for this script only
    python benchmarks/peer_vectorbt.py            # about a minute and a half on 2 cores
    python benchmarks/peer_vectorbt.py --trials 200

The target weights are the project's own: for each configuration, its run on the screening
engine (`Screen.run`, the full `BacktestResult`) gives the bars at which it placed rebalancing
orders, and its plan (`Planned.plan`: phases, fixed and varying targets) the weights it aimed at
there, times (1 - cash_buffer) as the kernel scales them. vectorbt is given exactly those
weights at exactly those bars, and simulates them with `Portfolio.from_orders(size_type=
"targetpercent", cash_sharing=True, group_by=True, call_seq="auto")`, the order filled at the
next bar's open (`price`: the open of the bar after the decision), valued at the decision bar's
close (`val_price=-inf`: the previous close, so a target is turned into units as the kernel
does), the same fee and slippage (runs/default.toml: 10 bp and 5 bp) and starting cash, marked
at each coin's last traded close. Then the final values are compared, and the time each takes:

* one configuration (the default): the kernel's `Screen.screen([config])` (values and figures)
  and `Screen.run` (every record), against vectorbt's `from_orders` and its value series;
* a batch of `--trials` (1,000) configurations drawn at random over the same [filter] and
  [strategy] keys as benchmarks/tune_end_to_end.py: the kernel screens them in one call; vectorbt
  simulates them as that many groups of coins (in chunks of `--chunk` groups, to bound memory),
  each on its trial's own weights and bars (working those out is not timed).

The difference of the final values comes from what vectorbt does not do; see README "the
screening kernel beside vectorbt". Compiled code is warmed before any timing (both use numba).
Not collected by pytest (timings depend on the machine and its load).
"""
import argparse
import os
import sys
import time
import tomllib

import numpy as np

try:
    import vectorbt as vbt
except ImportError:
    sys.exit("benchmarks/peer_vectorbt.py needs vectorbt: pip install -r benchmarks/requirements.txt")

import pandas as pd

from canary.feeds.market import load_market
from canary.runs.backtest import plan as plan_of
from canary.runs.config import load_config
from canary.runs.screening import Screen
from canary.runs.tune.search_space import parse_space, random_trials
from canary.runs.tune.trial_values import apply_trial
from canary.strategies.plan import VARYING

sys.path.insert(0, os.path.dirname(__file__))
from printing import load, say  # noqa: E402
from tune_end_to_end import SEED, SPACE  # noqa: E402  (the same trials as the end-to-end benchmark)

NEVER = 1 << 40


def best(func, repeat):
    """(best wall seconds, the last result)."""
    walls, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = func()
        walls.append(time.perf_counter() - t)
    return min(walls), out


class Targets:
    """One configuration's decisions as the kernel took them: the bars it placed rebalancing
    orders at and the (cash-buffer-scaled) target weights there, replayed from its plan."""

    def __init__(self, screen, config):
        cls, params, regimes = screen._planned(config)
        ready = screen.arrays.planned(cls)
        p = ready.params(params)
        plan = ready.plan(p, regimes)
        rules = ready.rules(plan, p)
        self.result = screen.run(config)
        self.prices, self.t0 = ready.prices, screen.arrays.t0
        clock = screen.arrays.clock.as_unit("us")
        ordered = set(clock.get_indexer(pd.DatetimeIndex(self.result.orders["decided"])).tolist())
        scale = 1.0 - rules.cash_buffer
        self.bars, self.weights = [], []
        since, held, held_row = NEVER, -1, 0
        # TargetWeightStrategy.next's timing, as the kernel (strategies/screening_kernel.simulate) runs it;
        # `since` restarts at the bars that placed orders (the run's own records)
        for t in range(self.t0, len(clock)):
            if since < NEVER:
                since += 1
            due = False
            if rules.phase[t] != held and since >= rules.min_hold:
                held, held_row, due = rules.phase[t], rules.row[t], True
            elif rules.rebalance_every > 0 and since >= rules.rebalance_every:
                due = True
            if due and t in ordered:
                since = 0
                target = rules.varying[t] if held_row == VARYING else rules.fixed[held_row]
                self.bars.append(t)
                self.weights.append(np.asarray(target, dtype=float) * scale)
        # orders at other bars are the exits of delisting coins (TargetWeightStrategy.exit_delisted):
        # vectorbt gets them as a target of 0 for that coin
        orders = self.result.orders
        at = clock.get_indexer(pd.DatetimeIndex(orders["decided"]))
        column = {s: c for c, s in enumerate(ready.symbols)}
        rebalanced = set(self.bars)
        self.exits = sorted({(int(t), column[s]) for t, s in zip(at, orders["symbol"], strict=True)
                             if t not in rebalanced})

    def orders(self):
        """(size, price) bars x coins from t0 for vectorbt: the weights at the bar after each decision."""
        px, t0 = self.prices, self.t0
        m, k = px.closes.shape[0] - t0, px.closes.shape[1]
        size, price = np.full((m, k), np.nan), np.full((m, k), np.inf)
        for t, w in zip(self.bars, self.weights, strict=True):
            if t + 1 >= px.closes.shape[0]:
                continue   # decided at the last bar: never filled
            j = t + 1 - t0
            priced = ~np.isnan(px.closes[t])           # the kernel skips a coin without a close at the decision
            size[j, priced] = w[priced]
            price[j] = px.opens[t + 1]
        for t, c in self.exits:
            if t + 1 < px.closes.shape[0]:
                size[t + 1 - t0, c], price[t + 1 - t0, c] = 0.0, px.opens[t + 1, c]
        return size, price

    def close(self):
        return self.prices.marks[self.t0:]


def vbt_values(targets_list, costs, index):
    """vectorbt's value curves (runs x bars) for several configurations, one group of coins each."""
    sizes, prices, closes = zip(*((*t.orders(), t.close()) for t in targets_list), strict=True)
    k = sizes[0].shape[1]
    size, price, close = np.hstack(sizes), np.hstack(prices), np.hstack(closes)
    groups = np.repeat(np.arange(len(targets_list)), k)
    pf = vbt.Portfolio.from_orders(
        pd.DataFrame(close, index=index), size, size_type="targetpercent", price=price, val_price=-np.inf,
        fees=costs.fee, slippage=costs.slippage, init_cash=costs.cash, cash_sharing=True, group_by=groups,
        call_seq="auto", freq="1D")
    return np.asarray(pf.value()).reshape(len(index), -1).T, pf


def compare(mine, theirs):
    return theirs / mine - 1.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=250, help="vectorbt groups per call (memory)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    config = load_config()
    p = plan_of(config)
    market = load_market(p.library, p.universe, config.data.start)
    costs = p.costs
    screen = Screen(market, costs)
    print(f"vectorbt {vbt.__version__}, numpy {np.__version__}; {os.cpu_count()} cores; default configuration, "
          f"fee {costs.fee_bp:g} bp, slippage {costs.slippage_bp:g} bp, fills at the next open", flush=True)

    # -- one configuration -------------------------------------------------------------------
    default = Targets(screen, config)
    index = pd.DatetimeIndex(screen.arrays.clock[screen.arrays.t0:])
    screen.screen([config])
    vbt_values([default], costs, index)   # both compiled
    before = load()
    w_screen, screened = best(lambda: screen.screen([config]), 3 * args.repeat)
    w_run, _ = best(lambda: screen.run(config), 3 * args.repeat)
    w_vbt, (values, pf) = best(lambda: vbt_values([default], costs, index), 3 * args.repeat)
    after = load()
    mine, theirs = float(default.result.equity.iloc[-1]), float(values[0, -1])
    fills = default.result.fills
    say("decisions with orders (kernel) / fed to vectorbt", f"{len(default.bars)}",
        f"(+{len(default.exits)} exits of delisting coins)")
    say("orders filled: kernel / vectorbt", f"{len(fills):,} / {pf.orders.count().sum():,}")
    say("fees paid: kernel / vectorbt", f"{fills['fee'].sum():,.0f} / {pf.orders.records['fees'].sum():,.0f}")
    say("final value: kernel (screen.run)", f"{mine:,.2f}")
    say("final value: kernel (screen.screen, values only)", f"{float(screened.values[0, -1]):,.2f}")
    say("final value: vectorbt from_orders", f"{theirs:,.2f}", f"({compare(mine, theirs):+.3%})")
    curve = compare(default.result.equity.to_numpy(), values[0])
    say("largest gap of the value curves, vectorbt / kernel - 1", f"{np.abs(curve).max():.3%}")
    say("one configuration, s: kernel screen / kernel run / vectorbt", f"{w_screen * 1e3:.1f} / {w_run * 1e3:.1f} / "
        f"{w_vbt * 1e3:.1f}", f"ms (load {before} -> {after})")
    say("  time ratio vectorbt / kernel (screen; run)", f"{w_vbt / w_screen:.2f} x; {w_vbt / w_run:.2f} x")

    # -- a batch of trials -----------------------------------------------------------------------
    space = {key: tomllib.loads(f"v = {spec}")["v"] for key, spec in SPACE.items()}
    configs = [apply_trial(config, t) for t in random_trials(parse_space(space), args.trials, SEED)]
    t = time.perf_counter()
    targets = [Targets(screen, c) for c in configs]
    print(f"({len(configs):,} trials' weights worked out in {time.perf_counter() - t:.0f} s, not timed)", flush=True)
    for run in range(args.repeat):
        before = load()
        fresh = Screen(market, costs)   # its signals not yet computed, as a tune's worker starts
        t = time.perf_counter()
        batch = fresh.screen(configs)
        w_kernel = time.perf_counter() - t
        t = time.perf_counter()
        finals = []
        for lo in range(0, len(targets), args.chunk):
            v, _ = vbt_values(targets[lo:lo + args.chunk], costs, index)
            finals.append(v[:, -1])
        w_vbt = time.perf_counter() - t
        finals = np.concatenate(finals)
        gaps = compare(batch.values[:, -1], finals)
        say(f"{len(configs):,} trials, run {run + 1}: s kernel / vectorbt", f"{w_kernel:.2f} / {w_vbt:.2f}",
            f"(load {before} -> {load()})")
        say("  time ratio vectorbt / kernel", f"{w_vbt / w_kernel:.1f} x",
            f"({len(configs) / w_kernel:,.0f} against {len(configs) / w_vbt:,.0f} trials/s)")
    say("  final values, vectorbt / kernel - 1: median / min / max",
        f"{np.median(gaps):+.3%} / {gaps.min():+.3%} / {gaps.max():+.3%}")


if __name__ == "__main__":
    main()
