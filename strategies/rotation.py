"""The rotation strategy of the research note."""
import numpy as np

from canary.feeds.roles import EveryRole
from canary.feeds.windows import window_rule
from canary.indicators.regime import ALTS, BTC, ETH, RISK_OFF, RiskRegime
from canary.indicators.signals import resolve
from canary.params import Rule

from .basket import WEIGHTINGS as BASKET_WEIGHTINGS
from .basket import basket_weights, eligible, held_share
from .plan import VARYING, TargetPlan
from .portfolio import TargetWeightStrategy


class SmallCapRotation(TargetWeightStrategy):
    """Rotate BTC -> ETH -> altcoins as small caps break out and crypto confirms.

    Feeds, in order: every declared role (`canary.feeds.roles.feed_order`): BTC, ETH, the
    small-cap index, the large-cap index, then the altcoins (see `RiskRegime`). At each crypto
    bar close the regime sets the target:

    * risk-off: cash, or BTC with ``defensive='btc'``;
    * btc: all BTC;
    * eth: ``eth_weight`` in ETH, the rest in BTC (1.0: all ETH);
    * alts: ``alt_core`` in a BTC/ETH 50/50 core, the rest in the altcoin basket.

    The basket holds the altcoins listed at that bar with ``min_history`` bars behind them
    and no delisting notice (with ``[universe] alts_top = N``: those of the top N by market cap
    in the ranking snapshot known at that bar, `canary.feeds.pointintime`), weighted ``equal``, by ``inverse_vol`` (over ``vol_window``
    bars), or the top ``top_k`` by ``momentum_window``-bar return, equally.
    It trades on a regime change once ``min_hold`` bars have passed since the last trade; and,
    from ``rebalance_every`` bars after the last trade (0: never), on any bar where a weight
    drifted beyond ``drift_band``. These five windows are counts of bars or durations ("30d"),
    turned into bars of the crypto clock's interval.
    ``filter``: the settings of `RiskRegime` ({section: {key: value}}, any part).
    """

    roles = EveryRole()
    params = (
        ("defensive", "cash"),
        ("eth_weight", 1.0),
        ("alt_core", 0.0),
        ("weighting", "equal"),
        ("top_k", 5),
        ("min_history", "30d"),
        ("vol_window", "30d"),
        ("momentum_window", "30d"),
        ("min_hold", "1d"),
        ("rebalance_every", "7d"),
        ("filter", None),
    )
    param_rules = {   # and the default search ranges of `canary tune --space KEY=auto`
        "defensive": Rule.one_of(("cash", "btc"), space=["cash", "btc"]),
        "eth_weight": Rule(lambda v: 0 <= v <= 1, "in [0, 1]", space={"low": 0.0, "high": 1.0, "step": 0.25}),
        "alt_core": Rule(lambda v: 0 <= v <= 1, "in [0, 1]", space=[0.0, 0.25, 0.5]),
        "weighting": Rule.one_of(BASKET_WEIGHTINGS, space=list(BASKET_WEIGHTINGS)),
        "top_k": Rule(lambda v: v >= 1, "a whole number >= 1", space=[3, 5, 8]),
        "min_history": window_rule(1).searched(["14d", "30d", "60d"]),
        "vol_window": window_rule(2).searched(["14d", "30d", "60d"]),
        "momentum_window": window_rule(1).searched(["14d", "30d", "60d"]),
        "min_hold": window_rule(0).searched(["1d", "3d", "7d"]),
        "rebalance_every": window_rule(0, " (0: never)").searched([0, "7d", "30d"]),
        "filter": Rule(lambda v: v is None or bool(resolve(v)), "settings of RiskRegime, {section: {key: value}}",
                         kind=(dict, type(None))),
    }

    # the windows, and the fewest bars each may be
    WINDOWS = {"min_history": 1, "vol_window": 2, "momentum_window": 1, "min_hold": 0, "rebalance_every": 0}

    def __init__(self):
        super().__init__()
        self.regime = RiskRegime(*self.datas, filter=self.p.filter)

    def regime_line(self):
        return self.regime.regime

    @classmethod
    def lookback(cls, p):
        return max(p.min_history, p.vol_window + 1, p.momentum_window + 1)

    @classmethod
    def plan(cls, bars, p):
        """The regime is the phase; risk-off, btc and eth hold fixed rows, alts the basket."""
        phase = np.asarray(bars.regime, dtype=np.int64)
        k = len(bars.symbols)
        fixed = np.zeros((3, k))
        fixed[RISK_OFF, 0] = 1.0 if p.defensive == "btc" else 0.0
        fixed[BTC, 0] = 1.0
        fixed[ETH, 1] = p.eth_weight
        fixed[ETH, 0] = 1.0 - p.eth_weight
        key = (p.weighting, p.min_history, p.vol_window, p.momentum_window, p.top_k, p.alt_core)
        varying = bars.memo.get(key)
        if varying is None:
            varying = bars.memo[key] = cls.alts_targets(bars, p)
        return TargetPlan(phase, np.where(phase == ALTS, VARYING, phase), fixed, varying, p.min_hold,
                          p.rebalance_every)

    @staticmethod
    def alts_targets(bars, p):
        """bars x coins: ``alt_core`` in BTC/ETH 50/50, the rest in the altcoin basket (the
        coins after BTC and ETH); all in the core where the basket is empty. With a point-in-time
        universe, only the top N in force are admitted, and the basket holds `held_share` (the
        weight of unpriced top-N coins stays in cash with ``missing = "cash"``)."""
        alts = slice(2, None)
        members = None if bars.members is None else bars.members[:, alts]
        admitted = eligible(bars.tradable[:, alts], bars.closes[:, alts], p.min_history, members)
        basket = basket_weights(bars.closes[:, alts], admitted, p.weighting, p.vol_window, p.momentum_window,
                                p.top_k) * held_share(members, len(bars.times))[:, None]
        core = np.where((basket > 0).any(axis=1), p.alt_core, 1.0)
        out = np.zeros(bars.closes.shape)
        out[:, alts] = basket * (1.0 - core)[:, None]
        out[:, 0] += core / 2
        out[:, 1] += core / 2
        return out
