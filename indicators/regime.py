"""The risk regime: the research note's whole idea as one line."""
import math

import numpy as np

from canary.feeds.alignment import known_at
from canary.params import Indicator

from .alt_volume import AltVolumeHold
from .ethbtc import EthBtcStrength
from .failed_breakouts import FailedBreakoutRate
from .relative_strength import SmallVsLargeCap
from .smallcap_breakout import SmallCapBreakout

RISK_OFF, BTC, ETH, ALTS = 0, 1, 2, 3
REGIME_NAMES = {RISK_OFF: "risk-off", BTC: "btc", ETH: "eth", ALTS: "alts"}


def classify(small_cap_on, rotation, eth_trend, eth_momentum, failed_rate, volume_hold, p):
    """(regime, small-cap background on, ETH strong, breadth confirmations) from the signals.

    * risk-off: the small-cap background is off (no breakout held, or it faked out), or,
      with ``min_rotation`` set, small caps are not outperforming large caps;
    * btc: the background is on but ETH/BTC is not strengthening;
    * eth: ETH/BTC is strengthening (trend and momentum above their thresholds);
    * alts: ETH is strong and at least ``breadth_needed`` of the two breadth signals
      confirm (failed-breakout rate at most ``max_failed_rate``; altcoin volume holding at
      least ``min_volume_hold`` while BTC is sideways).
    A signal that is not known yet (NaN) does not confirm.
    """
    background = small_cap_on >= 0.5 and (p.min_rotation is None or rotation > p.min_rotation)
    eth_strong = eth_trend > p.min_eth_trend and eth_momentum > p.min_eth_momentum
    breadth = int(failed_rate <= p.max_failed_rate) + int(volume_hold >= p.min_volume_hold)
    if not background:
        regime = RISK_OFF
    elif not eth_strong:
        regime = BTC
    elif breadth >= p.breadth_needed:
        regime = ALTS
    else:
        regime = ETH
    return regime, float(background), float(eth_strong), breadth


class RiskRegime(Indicator):
    """Risk regime read at each crypto bar close (see `classify`).

    Feeds: ``RiskRegime(btc, eth, small_cap, large_cap, *altcoins)``: BTC and ETH and the
    altcoins on the master crypto clock (`ListedData`), the small-cap (Russell 2000) and
    large-cap (S&P 500) indices on their exchange-session clock (`CloseInstantData`).
    The small-cap signals count equity sessions; the regime reads them as of each crypto
    bar close, using only equity closes already known at that instant.

    Lines: ``regime`` (0 risk-off, 1 btc, 2 eth, 3 alts), ``background`` (1 when the
    small-cap condition is on), ``eth_strong`` (1/0), ``breadth`` (0-2 confirmations).
    Every threshold is a parameter, as are the windows of the underlying indicators.
    """

    lines = ("regime", "background", "eth_strong", "breadth")
    params = (
        # small-cap background (SmallCapBreakout, SmallVsLargeCap)
        ("mode", "absolute"), ("level", 3000.0), ("period", 50), ("distance", 0.0),
        ("confirm", 3), ("hysteresis", 0.01),
        ("rotation_period", 50), ("min_rotation", None),
        # ETH/BTC (EthBtcStrength)
        ("eth_period", 30), ("eth_momentum_period", 14), ("min_eth_trend", 0.0), ("min_eth_momentum", 0.0),
        # altcoin breadth (FailedBreakoutRate, AltVolumeHold)
        ("breakout_period", 20), ("breakout_horizon", 5), ("breakout_window", 30), ("max_failed_rate", 0.5),
        ("sideways_period", 7), ("sideways_band", 0.03), ("volume_lookback", 30), ("volume_window", 30),
        ("min_volume_hold", 1.0), ("breadth_needed", 1),
    )

    def __init__(self):
        btc, eth, small, large, *alts = self.datas
        p = self.p
        self.small_cap = SmallCapBreakout(small, mode=p.mode, level=p.level, period=p.period,
                                          distance=p.distance, confirm=p.confirm, hysteresis=p.hysteresis)
        self.rotation = SmallVsLargeCap(small, large, period=p.rotation_period)
        self.eth = EthBtcStrength(eth, btc, period=p.eth_period, momentum=p.eth_momentum_period)
        self.failed = FailedBreakoutRate(*alts, period=p.breakout_period, horizon=p.breakout_horizon,
                                         window=p.breakout_window)
        self.volume = AltVolumeHold(btc, *alts, sideways_period=p.sideways_period, sideways_band=p.sideways_band,
                                    lookback=p.volume_lookback, window=p.volume_window)
        self._equity = small
        self._done = 0

    def _signals(self):
        return (self.small_cap.risk_on, self.rotation.strength, self.eth.trend, self.eth.momentum,
                self.failed.rate, self.volume.hold)

    def prenext(self):
        self.next()

    def next(self):
        # Called on every step of the strategy, equity-only steps included: decide once per
        # crypto bar, so a later equity close never rewrites a crypto bar's regime.
        if len(self) == self._done:
            return
        self._done = len(self)
        values = [line[0] if len(line) else math.nan for line in self._signals()]
        for line, value in zip(self.lines, classify(*values, self.p)):
            line[0] = value

    def preonce(self, start, end):
        self.once(start, end)

    def oncestart(self, start, end):
        self.once(start, end)

    def once(self, start, end):
        crypto_dt = np.asarray(self.data0.datetime.array[start:end])
        equity_dt = np.asarray(self._equity.datetime.array)
        known = known_at(equity_dt, crypto_dt)
        arrays = [np.asarray(line.array) for line in self._signals()]
        outputs = [line.array for line in self.lines]
        for j, i in enumerate(range(start, end)):
            e = known[j]
            values = [a[e] if e >= 0 else math.nan for a in arrays[:2]] + [a[i] for a in arrays[2:]]
            for out, value in zip(outputs, classify(*values, self.p)):
                out[i] = value
