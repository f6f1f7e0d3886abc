"""The rotation strategy of the research note."""
import math

import numpy as np

from canary.feeds.windows import feed_interval, window_bars, window_rule
from canary.indicators.regime import BTC, ETH, RISK_OFF, RiskRegime
from canary.params import Rule

from .portfolio import TargetWeightStrategy

BASKET_WEIGHTINGS = ("equal", "inverse_vol", "momentum")


def eligible(listed, delisting, closes, min_history):
    """The basket's entry rule for one altcoin at one bar: listed, no delisting notice, and a
    price at each of its last `min_history` bars (`closes`: its closes up to this bar, the
    latest last; fewer than `min_history` of them means too young)."""
    return (listed == 1.0 and delisting == 0.0 and len(closes) >= min_history
            and bool(np.isfinite(closes[-min_history:]).all()))


class SmallCapRotation(TargetWeightStrategy):
    """Rotate BTC -> ETH -> altcoins as small caps break out and crypto confirms.

    Feeds, in order: BTC, ETH, the small-cap index, the large-cap index, then the altcoins
    (see `RiskRegime`). At each crypto bar close the regime sets the target:

    * risk-off: cash, or BTC with ``defensive='btc'``;
    * btc: all BTC;
    * eth: ``eth_weight`` in ETH, the rest in BTC (1.0: all ETH);
    * alts: ``alt_core`` in a BTC/ETH 50/50 core, the rest in the altcoin basket.

    The basket holds the altcoins listed at that bar with ``min_history`` bars behind them
    and no delisting notice, weighted ``equal``, by ``inverse_vol`` (over ``vol_window``
    bars), or the top ``top_k`` by ``momentum_window``-bar return, equally.
    It trades on a regime change once ``min_hold`` bars have passed since the last trade; and,
    from ``rebalance_every`` bars after the last trade (0: never), on any bar where a weight
    drifted beyond ``drift_band``. These five windows are counts of bars or durations ("30d"),
    turned into bars of the crypto clock's interval.
    ``filter``: the settings of `RiskRegime` ({section: {key: value}}, any part).
    """

    roles = ("btc", "eth", "small_cap", "large_cap", "alts")
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
    param_rules = {
        "defensive": Rule(lambda v: v in ("cash", "btc"), "cash or btc"),
        "eth_weight": Rule(lambda v: 0 <= v <= 1, "in [0, 1]"),
        "alt_core": Rule(lambda v: 0 <= v <= 1, "in [0, 1]"),
        "weighting": Rule(lambda v: v in BASKET_WEIGHTINGS, f"one of {', '.join(BASKET_WEIGHTINGS)}"),
        "top_k": Rule(lambda v: v >= 1, "a whole number >= 1"),
        "min_history": window_rule(1),
        "vol_window": window_rule(2),
        "momentum_window": window_rule(1),
        "min_hold": window_rule(0),
        "rebalance_every": window_rule(0, " (0: never)"),
    }

    # the windows, and the fewest bars each may be
    WINDOWS = {"min_history": 1, "vol_window": 2, "momentum_window": 1, "min_hold": 0, "rebalance_every": 0}

    def __init__(self):
        super().__init__()
        btc, eth, small, large, *alts = self.datas
        self.btc, self.eth, self.alts = btc, eth, alts
        interval = feed_interval(btc)
        self.bars = {name: window_bars(getattr(self.p, name), interval, f"strategy.{name}", minimum)
                     for name, minimum in self.WINDOWS.items()}
        self.regime = RiskRegime(btc, eth, small, large, *alts, filter=self.p.filter)
        self.held_regime = None

    def current_regime(self):
        return int(self.regime.regime[0])

    def rebalance_due(self):
        regime = self.current_regime()
        if regime != self.held_regime and self.bars_since_trade >= self.bars["min_hold"]:
            self.held_regime = regime
            return True
        every = self.bars["rebalance_every"]
        return bool(every) and self.bars_since_trade >= every

    def target_weights(self):
        regime = self.held_regime
        if regime == RISK_OFF:
            return {self.btc: 1.0} if self.p.defensive == "btc" else {}
        if regime == BTC:
            return {self.btc: 1.0}
        if regime == ETH:
            return {self.eth: self.p.eth_weight, self.btc: 1.0 - self.p.eth_weight}
        basket = self.basket_weights()
        core = self.p.alt_core if basket else 1.0
        weights = {coin: w * (1.0 - core) for coin, w in basket.items()}
        weights[self.btc] = weights.get(self.btc, 0.0) + core / 2
        weights[self.eth] = weights.get(self.eth, 0.0) + core / 2
        return weights

    def eligible_alts(self):
        m = self.bars["min_history"]
        return [coin for coin in self.alts if len(coin) >= m
                and eligible(coin.listed[0], coin.delisting[0], np.asarray(coin.close.get(size=m)), m)]

    def basket_weights(self):
        coins = self.eligible_alts()
        if not coins:
            return {}
        if self.p.weighting == "equal":
            return {c: 1.0 / len(coins) for c in coins}
        if self.p.weighting == "inverse_vol":
            inv = {}
            for c in coins:
                closes = np.asarray(c.close.get(size=self.bars["vol_window"] + 1))
                vol = np.nanstd(np.diff(np.log(closes)))
                if np.isfinite(vol) and vol > 0:
                    inv[c] = 1.0 / vol
            total = sum(inv.values())
            return {c: v / total for c, v in inv.items()}
        scores = {}
        for c in coins:
            window = self.bars["momentum_window"]
            past = c.close[-window] if len(c) > window else math.nan
            if math.isfinite(past):
                scores[c] = c.close[0] / past - 1.0
        top = sorted(scores, key=scores.get, reverse=True)[: self.p.top_k]
        return {c: 1.0 / len(top) for c in top}
