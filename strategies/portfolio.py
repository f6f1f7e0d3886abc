"""Target-weight portfolio mechanics shared by the rotation strategy and the benchmarks."""
import math

import numpy as np
import pandas as pd

from canary.errors import ConfigError
from canary.feeds.windows import feed_interval, window_rule
from canary.params import Rule, implied_rules

from .plan import plan_bars, plan_params
from .schedule import CryptoCloseSchedule

DUST = 1e-6   # fraction of the portfolio value below which a difference is not traded


class TargetWeightStrategy(CryptoCloseSchedule):
    """Holds coins at target weights of the portfolio, deciding at each crypto bar close.

    Subclasses declare *what* to hold and *when* to trade as a plan (`canary.strategies.plan`:
    a classmethod ``plan(bars, p)`` returning a `TargetPlan`, with ``lookback(p)`` the bars
    its last row depends on), which this class reads at each bar close from the bars up to
    that close, so that a plan never sees a later bar; the screening engine reads the same
    plan over the whole history. (A Backtrader strategy may instead override
    `target_weights` and `rebalance_due`; it then runs on Backtrader only.) This class does
    the rest the same way for every strategy:

    * decisions only on crypto bar closes from ``trade_from`` on (`CryptoCloseSchedule`);
    * market orders, sells before buys, filled by the broker after the decision (the next
      bar's open by default); buys are scaled so that they never exceed the cash the sells
      will bring, less costs, and ``cash_buffer`` of the portfolio stays in cash to absorb
      the move from close to the next open;
    * positions whose weights are all within ``drift_band`` of their targets are left alone;
      once one is beyond it (or a coin is to be bought or sold out), every position is
      brought back to its target. (Trading only the drifted ones would park their proceeds
      in cash: up to 18% of the portfolio in the rotation's altcoin basket on the shipped
      data.) Differences below ``DUST`` of the portfolio are never traded;
    * a coin with a delisting notice is sold (at the open of its last bar) and never bought;
      the rebalance of that bar leaves it to this exit order (counting its proceeds in the
      cash for the buys) rather than selling it a second time, which would open a short
      position valued at a NaN price once the coin has no bars.

    Feeds: the ``ListedData`` coins (the first is the crypto clock, BTC) and any others.
    A strategy that reads a risk regime returns its line from `regime_line`.
    """

    _regime = None   # the regime line a plan reads, from `regime_line`

    DUST = DUST

    params = (
        ("cash_buffer", 0.005),
        ("drift_band", 0.02),
        ("costs", 0.0015),          # fee + slippage fraction, to size buys within the cash
    )
    param_rules = {
        "cash_buffer": Rule(lambda v: 0 <= v < 0.5, "in [0, 0.5)"),
        "drift_band": Rule(lambda v: 0 <= v < 1, "in [0, 1)", space=[0.0, 0.02, 0.05, 0.1]),
        "costs": Rule(lambda v: 0 <= v < 1, "a fraction in [0, 1)"),
    }

    WINDOWS = {}   # the parameters that are windows in time, and the fewest bars each may be (`plan_params`)

    def __init_subclass__(cls, **kwargs):
        """A window of ``WINDOWS`` without a rule of its own is checked as one: bars or a duration."""
        super().__init_subclass__(**kwargs)
        implied_rules(cls, {name: window_rule(minimum) for name, minimum in cls.WINDOWS.items()})

    def __init__(self):
        super().__init__()
        self.bars_since_trade = math.inf
        self._exits = {}            # coin -> its delisting exit order
        # each coin's lines, looked up once (a Backtrader attribute lookup per coin and bar adds up)
        self._lines = {c: (c.lines.close, c.lines.listed, c.lines.delisting) for c in self.coins}
        self.held_phase, self.held_row = None, 0

    # -- the plan, read as of each bar -----------------------------------------------------
    @classmethod
    def lookback(cls, p):
        """How many bars the last row of the plan depends on (None: every bar so far)."""
        return None

    def regime_line(self):
        """The risk regime's line, for a strategy whose plan reads one (else None)."""
        return None

    def start(self):
        super().start()
        if callable(getattr(type(self), "plan", None)):
            self._read_plan()

    def _read_plan(self):
        frames = {}
        for coin in self.coins:
            if not isinstance(coin.p.dataname, pd.DataFrame):
                raise ConfigError(f"{type(self).__name__}: its plan reads its coins' frames; feed "
                                  f"'{coin._name}' is not a pandas DataFrame on the crypto clock")
            frames[coin._name] = coin.p.dataname
        start = self.p.trade_from
        self._regime = self.regime_line()
        regime = None if self._regime is None else np.zeros(len(self.clock.p.dataname))
        self._bars = plan_bars(frames, None if start is None else pd.Timestamp(start, tz="UTC"), regime)
        self._p = plan_params(type(self), self.p._getkwargs(), feed_interval(self.clock))
        self._lookback = type(self).lookback(self._p)
        self._planned = None, -1, 0

    def plan_now(self):
        """(the plan over the bars up to this one, this bar's row in it)."""
        plan, at, row = self._planned
        i = len(self.clock) - 1
        if at != i:
            lo = 0 if self._lookback is None else max(0, i + 1 - self._lookback)
            plan, row = type(self).plan(self._bars.cut(lo, i + 1), self._p), i - lo
            self._planned = plan, i, row
        return plan, row

    def rebalance_due(self):
        """True when the strategy trades at this bar: its phase changed and ``min_hold`` bars
        passed since its last trade, or ``rebalance_every`` bars passed (0: never)."""
        plan, t = self.plan_now()
        phase = plan.phase[t]
        if phase != self.held_phase and self.bars_since_trade >= plan.min_hold:
            self.held_phase, self.held_row = phase, plan.row[t]
            return True
        return bool(plan.rebalance_every) and self.bars_since_trade >= plan.rebalance_every

    def target_weights(self):
        """{coin feed: weight} summing to at most 1 (the rest is cash): the targets of the phase
        last acted on, at this bar."""
        plan, t = self.plan_now()
        return {coin: float(w) for coin, w in zip(self.coins, plan.targets(self.held_row, t), strict=True) if w}

    # -- the decision loop --------------------------------------------------------------
    def on_crypto_bar(self):
        self.bars_since_trade += 1
        if self._regime is not None:
            self._bars.regime[len(self.clock) - 1] = self._regime[0]
        self.exit_delisted()

    def prenext(self):
        self.next()

    def next(self):
        if self.decides() and self.rebalance_due():
            self.rebalance(self.target_weights())

    def tradable(self, coin):
        """Listed at this bar, with a price, and no delisting notice."""
        close, listed, delisting = self._lines[coin]
        return listed[0] == 1.0 and delisting[0] == 0.0 and not math.isnan(close[0])

    def exiting(self, coin):
        """True while `coin`'s delisting exit order is waiting to be filled."""
        order = self._exits.get(coin)
        return order is not None and order.alive()

    def exit_delisted(self):
        for coin, (_, _, delisting) in self._lines.items():
            if delisting[0] == 1.0 and self.getposition(coin).size and not self.exiting(coin):
                self._exits[coin] = self.close(data=coin)

    def rebalance(self, targets):
        value = self.broker.getvalue()
        scale = 1.0 - self.p.cash_buffer
        sells, buys, exits = [], [], []
        drifted = False
        positions = self.broker.positions
        for coin, (close, _, _) in self._lines.items():
            held = positions[coin].size
            if coin in self._exits and self.exiting(coin):
                exits.append((coin, None))  # already being sold: only count its proceeds
                continue
            if not held and coin not in targets:
                continue
            price = close[0]
            if math.isnan(price):
                continue
            weight = targets.get(coin, 0.0) * scale
            delta = weight * value - held * price
            within = bool(weight and held and abs(delta) < self.p.drift_band * value)
            if abs(delta) <= self.DUST * value and weight and held:
                continue
            if weight == 0.0 and held:
                sells.append((coin, None))
            elif delta < 0:
                sells.append((coin, -delta / price))
            elif delta > 0 and self.tradable(coin):
                buys.append((coin, delta / price))
            else:
                continue
            drifted = drifted or not within
        if not drifted:
            return  # every position within its band of its target: nothing to do
        budget = self.broker.getcash() + sum(
            (self.getposition(c).size if s is None else s) * c.close[0] for c, s in sells + exits) * (1 - self.p.costs)
        need = sum(size * c.close[0] for c, size in buys) * (1 + self.p.costs)
        shrink = min(1.0, budget * scale / need) if need > 0 else 1.0
        for coin, size in sells:
            self.close(data=coin) if size is None else self.sell(data=coin, size=size)
        for coin, size in buys:
            self.buy(data=coin, size=size * shrink)
        if sells or buys:
            self.bars_since_trade = 0
