"""Trading costs, sizing and execution for spot crypto in Backtrader."""
import itertools
import math
from dataclasses import dataclass

import backtrader as bt

from canary.errors import ConfigError, suggest
from canary.params import setting

FILLS = ("open", "close")


def fraction(bp):
    """Basis points as a fraction (10 bp: 0.001)."""
    return bp / 1e4


@dataclass(frozen=True)
class Costs:
    """Starting cash (in the quote currency, USDT for the shipped data), fee and slippage in
    basis points of traded notional, and the fill rule ('open': the next bar's open; 'close':
    the decision bar's close). As fractions: ``fee``, ``slippage``, and ``sizing``, the share
    of a buy's notional its costs may take, within which buys are sized. The fields are the
    keys of a configuration's [costs], with their rules."""

    cash: float = setting(float, lambda v: v > 0, "positive", default=100_000.0)
    fee_bp: float = setting(float, lambda v: 0 <= v < 1e4, "not negative (basis points)", default=10.0)
    slippage_bp: float = setting(float, lambda v: 0 <= v < 1e4, "not negative (basis points)", default=5.0)
    fill: str = setting(str, choices=FILLS, default="open")

    @property
    def fee(self):
        return fraction(self.fee_bp)

    @property
    def slippage(self):
        return fraction(self.slippage_bp)

    @property
    def sizing(self):
        return fraction(self.fee_bp + self.slippage_bp)


class SpotCryptoCommission(bt.CommInfoBase):
    """Spot crypto: a fee as a fraction of traded notional, fractional sizes, no leverage.

    Backtrader sizes in whole units by default; coins trade in fractions. A coin not listed
    yet has a NaN price: a zero position in it is worth 0, not NaN. Given its feed's ``mark``
    line, a position is valued at the last traded close on a bar where the coin has no price.
    """

    params = (("commission", 0.001), ("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC),
              ("percabs", True), ("mark", None))

    def getsize(self, price, cash):
        return self.p.leverage * (cash / price)

    def _marked(self, price):
        if math.isnan(price) and self.p.mark is not None:
            return self.p.mark[0]  # no trade on this bar: the last traded close
        return price

    def getvaluesize(self, size, price):
        return size * self._marked(price) if size else 0.0

    def getvalue(self, position, price):
        return self.getvaluesize(position.size, price)

    def profitandloss(self, size, price, newprice):
        return super().profitandloss(size, price, self._marked(newprice)) if size else 0.0


class SpotBroker(bt.brokers.BackBroker):
    """Backtrader's broker, except that an order waits while its coin has no bar (a gap in
    its history, a ``ListedData`` bar with ``listed`` 0): it fills at the next traded bar,
    never at a missing price.

    Two shortcuts that change no figure: the portfolio value is summed over the positions
    held (a zero position adds exactly 0.0), and with next-open fills an equity-only step
    (an equity close between two crypto bars) is skipped while every order is a market
    order: nothing can fill there, every order waiting for its coin's next bar, and the
    margin check of new orders sees the same cash at the next crypto bar.
    """

    crypto_clock = None   # the first ListedData feed, set by `configure_broker`

    def start(self):
        super().start()
        self._seen = 0

    def next(self):
        clock = self.crypto_clock
        if clock is not None and not self.p.coc:
            seen = len(clock)
            if seen == self._seen and all(o.exectype == bt.Order.Market
                                          for o in itertools.chain(self.submitted, self.pending)):
                return
            self._seen = seen
        super().next()

    def _get_value(self, datas=None, lever=False):
        if datas is not None:
            return super()._get_value(datas, lever)
        everything = self.positions
        self.positions = {data: pos for data, pos in everything.items() if pos.size}
        try:
            return super()._get_value(None, lever)
        finally:
            self.positions = everything

    def _try_exec(self, order):
        listed = getattr(order.data, "listed", None)
        if listed is not None and listed[0] != 1.0:
            return
        super()._try_exec(order)


def configure_broker(broker, costs, coins=()):
    """`Costs`: cash, fee and slippage, and the fill rule ('open': the next bar's open;
    'close': the decision bar's close, an optimistic comparison). `coins`: the ListedData
    feeds, whose positions are marked at their last traded close through gaps.

    Slippage moves the price against the order. With next-open fills the slipped price is
    capped to the fill bar's [low, high]. With close fills it is not capped: Backtrader would
    cap it to the range of the bar *after* the decision (the bar in which it processes the
    order), a price the decision bar never had; the close fill is close * (1 +/- slippage).
    """
    fill = costs.fill
    if fill not in ("open", "close"):
        raise ConfigError(f"fill '{fill}' is not 'open' or 'close'{suggest(fill, ('open', 'close'))}")
    broker.setcash(costs.cash)
    broker.addcommissioninfo(SpotCryptoCommission(commission=costs.fee))
    if coins and isinstance(broker, SpotBroker):
        broker.crypto_clock = coins[0]
    for coin in coins:
        broker.addcommissioninfo(SpotCryptoCommission(commission=costs.fee, mark=coin.mark), name=coin._name)
    broker.set_slippage_perc(costs.slippage, slip_open=True, slip_limit=True, slip_match=True,
                             slip_out=fill == "close")
    broker.set_coc(fill == "close")
