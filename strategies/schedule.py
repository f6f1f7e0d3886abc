"""When a strategy decides: at each crypto bar close, from the first bar it may trade at.

Backtrader steps a strategy at every instant one of its feeds has a bar: with an equity feed
among them, also at each equity close, between two crypto bars. Bars before ``trade_from``
only warm the indicators up. The engine runs every strategy on this schedule, so that its
records (one row per decision) mean the same thing whichever strategy made them.
"""
from canary.feeds.btfeeds import ListedData
from canary.params import Strategy


class CryptoCloseSchedule(Strategy):
    """A Backtrader strategy whose ``next`` (and ``prenext``, ``nextstart``) run only at a
    crypto bar close from ``trade_from`` on (a UTC, naive datetime; None: from the first bar).

    Provides what the engine's recorder reads: ``coins`` (the ``ListedData`` feeds; the first,
    BTC in the engine's feeds, is the crypto ``clock``), ``trading_bar`` (True on the steps
    where the strategy decides) and ``rejected`` (orders the broker refused: margin,
    rejected, cancelled). `on_crypto_bar` is called at every crypto bar close, warm-up
    included, before the strategy decides.
    """

    params = (("trade_from", None),)

    def __init__(self, *args, **kwargs):
        self.coins = [d for d in self.datas if isinstance(d, ListedData)]
        self.clock = self.coins[0]
        self.rejected = 0
        self.trading_bar = False
        self._step = self._seen = 0
        self._begun = False
        super().__init__(*args, **kwargs)

    def on_crypto_bar(self):
        """At each crypto bar close, before any decision (nothing by default)."""

    def decides(self):
        """True on the steps where the strategy decides (the same answer all through a step)."""
        if len(self) != self._step:
            self._step = len(self)
            self.trading_bar = False
            if len(self.clock) != self._seen:  # else an equity close, not a crypto bar close
                self._seen = len(self.clock)
                self.on_crypto_bar()
                start = self.p.trade_from
                # the clock only moves forward: once trading has begun, no date to convert
                self._begun = self._begun or start is None or self.clock.datetime.datetime(0) >= start
                self.trading_bar = self._begun
        return self.trading_bar

    def prenext(self):
        if self.decides():
            super().prenext()

    def nextstart(self):
        if self.decides():
            super().nextstart()

    def next(self):
        if self.decides():
            super().next()

    def notify_order(self, order):
        if order.status in (order.Margin, order.Rejected, order.Canceled):
            self.rejected += 1
        super().notify_order(order)


def on_schedule(strategy):
    """`strategy`, a plain Backtrader strategy class, run on the crypto-close schedule: a
    subclass whose ``next`` the engine calls at each crypto bar close from ``trade_from``."""
    if issubclass(strategy, CryptoCloseSchedule):
        return strategy

    class Scheduled(CryptoCloseSchedule, strategy):
        __doc__ = strategy.__doc__

    Scheduled.__name__ = Scheduled.__qualname__ = strategy.__name__
    return Scheduled
