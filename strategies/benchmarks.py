"""The benchmarks the rotation is judged against, run through the same engine and costs."""
from canary.errors import ConfigError, suggest

from .portfolio import TargetWeightStrategy


class BuyAndHold(TargetWeightStrategy):
    """Buy one coin (``symbol``, by feed name; the first coin if empty) at the first bar and hold it.

    A ``symbol`` that is not one of the coin feeds is refused (`ConfigError`, with the closest
    name), rather than silently buying the first coin.
    """

    roles = ("btc", "eth")
    params = (("symbol", ""),)

    def __init__(self):
        super().__init__()
        self.check_symbol(self.p.symbol, [c._name for c in self.coins])
        named = [c for c in self.coins if c._name == self.p.symbol]
        self.asset = named[0] if named else self.coins[0]
        self.bought = False

    @staticmethod
    def check_symbol(symbol, names):
        if symbol and symbol not in names:
            raise ConfigError(f"BuyAndHold: symbol '{symbol}' is not one of the feeds "
                              f"({', '.join(names)}){suggest(symbol, names)}")

    def rebalance_due(self):
        due = not self.bought and self.tradable(self.asset)
        self.bought = self.bought or due
        return due

    def target_weights(self):
        return {self.asset: 1.0}


class EqualWeightBasket(TargetWeightStrategy):
    """Equal weights in the altcoins listed at the first bar, then held (delisted coins are
    sold into cash; coins listed later are not added). Feeds: BTC first, then the altcoins."""

    roles = ("btc", "alts")

    def __init__(self):
        super().__init__()
        self.bought = False

    def rebalance_due(self):
        due, self.bought = not self.bought, True
        return due

    def target_weights(self):
        coins = [c for c in self.coins[1:] if self.tradable(c)]
        return {c: 1.0 / len(coins) for c in coins}


class BtcEthMonthly(TargetWeightStrategy):
    """BTC/ETH 50/50, rebalanced at the first bar of each month. Feeds: BTC, ETH."""

    roles = ("btc", "eth")
    params = (("drift_band", 0.0),)

    def __init__(self):
        super().__init__()
        self.month = None

    def rebalance_due(self):
        month = self.clock.datetime.date(0).month
        due, self.month = month != self.month, month
        return due

    def target_weights(self):
        return {self.coins[0]: 0.5, self.coins[1]: 0.5}
