"""The risk regime: the research note's whole idea as one line."""
from array import array

import numpy as np

from canary.errors import ConfigError
from canary.feeds.alignment import known_at
from canary.feeds.roles import feed_order, role

from .once_per_bar import OncePerBarIndicator
from .signals import (
    ALTS,
    BTC,
    EQUITY,
    ETH,
    REGIME_NAMES,
    RISK_OFF,
    classify,
    indicator_params,
    registry,
    resolve,
    sections,
)

__all__ = ["ALTS", "BTC", "ETH", "REGIME_NAMES", "RISK_OFF", "RiskRegime"]


class RiskRegime(OncePerBarIndicator):
    """Risk regime read at each crypto bar close, from the declared signals (see
    `canary.indicators.signals`): risk-off unless every background signal holds (the small
    caps broke out and hold); else btc unless every ETH-strength signal holds; else alts if
    at least ``breadth.needed`` breadth signals hold, else eth.

    Feeds: ``RiskRegime(btc, eth, small_cap, large_cap, *altcoins)``, one per role in
    `canary.feeds.roles.feed_order()`: BTC and ETH and the altcoins on the master crypto clock
    (`ListedData`), the small-cap (Russell 2000) and large-cap (S&P 500) indices on their
    exchange-session clock (`CloseInstantData`).
    Equity signals count sessions; the regime reads them as of each crypto bar close, using
    only equity closes already known at that instant.

    ``filter``: {section: {key: value}}, any part of the settings (the rest are the
    defaults; see `signals.defaults`), e.g. ``filter={"small_cap": {"confirm": 5}}``.
    ``parts``: {section: the indicator computing its signals}.
    Lines: ``regime`` (0 risk-off, 1 btc, 2 eth, 3 alts), ``background`` (1 when the
    small-cap condition is on), ``eth_strong`` (1/0), ``breadth`` (confirmations that hold).
    """

    lines = ("regime", "background", "eth_strong", "breadth")
    params = (("filter", None),)

    def __init__(self):
        order = feed_order()
        singles = [name for name in order if not role(name).many]
        if len(self.datas) < len(singles):
            raise ConfigError(f"RiskRegime: needs the feeds {', '.join(order)} (one feed each, then every one of "
                              f"{', '.join(n for n in order if role(n).many)}); got {len(self.datas)}")
        by_role = {name: [feed] for name, feed in zip(singles, self.datas, strict=False)}
        by_role.update({name: list(self.datas[len(singles):]) for name in order if role(name).many})
        self.signals = registry()
        self.settings = resolve(self.p.filter, self.signals)
        self.parts = {}
        for section, (cls, members) in sections(self.signals).items():
            feeds = [feed for role in members[0].feeds for feed in by_role[role]]
            try:
                self.parts[section] = cls(*feeds, **indicator_params(section, self.settings, self.signals))
            except ConfigError as exc:
                raise type(exc)(f"filter.{section}: {exc}") from None
        self._lines = [(s, getattr(self.parts[s.section].lines, s.line)) for s in self.signals]

    def next_bar(self):
        # once per crypto bar: a later equity close never rewrites a crypto bar's regime
        values = {s.name: np.float64(line[0] if len(line) else np.nan) for s, line in self._lines}
        for line, value in zip(self.lines, classify(values, self.settings, self.signals), strict=True):
            line[0] = float(value)

    def preonce(self, start, end):
        pass

    def oncestart(self, start, end):
        pass

    def once(self, start, end):
        crypto_dt = np.asarray(self.data0.datetime.array[:end])
        values = {}
        for s, line in self._lines:
            arr = np.asarray(line.array, dtype=float)
            if s.clock == EQUITY:
                clock = self.parts[s.section].data0
                pos = known_at(np.asarray(clock.datetime.array), crypto_dt)
                values[s.name] = np.where(pos >= 0, arr[np.maximum(pos, 0)], np.nan) if len(arr) else \
                    np.full(end, np.nan)
            else:
                values[s.name] = arr[:end]
        for line, column in zip(self.lines, classify(values, self.settings, self.signals), strict=True):
            line.array[:end] = array("d", np.ascontiguousarray(column, dtype=float).tobytes())
