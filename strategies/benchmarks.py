"""The benchmarks the rotation is judged against, run through the same engine and costs."""
import numpy as np

from canary.errors import ConfigError, suggest

from .basket import held_share
from .plan import VARYING, TargetPlan
from .portfolio import TargetWeightStrategy


class BuyAndHold(TargetWeightStrategy):
    """Buy one coin (``symbol``, by feed name; the first coin if empty) at the first bar and hold it.

    A ``symbol`` that is not one of the coin feeds is refused (`ConfigError`, with the closest
    name), rather than silently buying the first coin.
    """

    roles = ("btc", "eth")
    params = (("symbol", ""),)

    @staticmethod
    def check_symbol(symbol, names):
        if symbol and symbol not in names:
            raise ConfigError(f"BuyAndHold: symbol '{symbol}' is not one of the feeds "
                              f"({', '.join(names)}){suggest(symbol, names)}")

    @classmethod
    def plan(cls, bars, p):
        """Nothing until the first trading bar at which the coin is tradable (phase 0), then the
        coin (phase 1), once."""
        cls.check_symbol(p.symbol, bars.symbols)
        c = bars.symbols.index(p.symbol) if p.symbol else 0
        fixed = np.zeros((2, len(bars.symbols)))
        fixed[1, c] = 1.0
        return TargetPlan.by_phase(np.maximum.accumulate(bars.tradable[:, c] & bars.trading), fixed)


class EqualWeightBasket(TargetWeightStrategy):
    """Equal weights in the altcoins listed at the first bar, then held (delisted coins are
    sold into cash; coins listed later are not added). With a point-in-time universe, the
    same universe as the rotation's, reconstituted at the first bar of each month: equal
    weights in the top-N coins tradable then, times `held_share` (the rest in cash). Feeds:
    BTC first, then the altcoins."""

    roles = ("btc", "alts")

    @classmethod
    def plan(cls, bars, p):
        n, k = bars.closes.shape
        varying = np.zeros((n, k))
        if bars.members is not None:
            members = bars.members[:, 1:]
            admitted = bars.tradable[:, 1:] & (members > 0)
            count = admitted.sum(axis=1, keepdims=True)
            np.divide(held_share(members, n)[:, None], count, out=varying[:, 1:], where=admitted & (count > 0))
            months = bars.times.astype("datetime64[M]").astype(np.int64)
            return TargetPlan(months, np.full(n, VARYING, dtype=np.int64), np.zeros((1, k)), varying)
        if bars.trading.any():
            first = int(np.argmax(bars.trading))
            listed = bars.tradable[first, 1:]
            if listed.any():
                varying[first, 1:][listed] = 1.0 / listed.sum()
        return TargetPlan(np.ones(n, dtype=np.int64), np.full(n, VARYING, dtype=np.int64), np.zeros((1, k)),
                          varying)


class BtcEthMonthly(TargetWeightStrategy):
    """BTC/ETH 50/50, rebalanced at the first bar of each month. Feeds: BTC, ETH."""

    roles = ("btc", "eth")
    params = (("drift_band", 0.0),)

    @classmethod
    def lookback(cls, p):
        return 1

    @classmethod
    def plan(cls, bars, p):
        months = bars.times.astype("datetime64[M]").astype(np.int64)
        fixed = np.zeros((1, len(bars.symbols)))
        fixed[0, :2] = 0.5
        return TargetPlan(months, np.zeros(len(months), dtype=np.int64), fixed)
