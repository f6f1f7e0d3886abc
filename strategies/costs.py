"""Trading costs and sizing for spot crypto in Backtrader."""
import backtrader as bt


class SpotCryptoCommission(bt.CommInfoBase):
    """Spot crypto: a fee as a fraction of traded notional, fractional sizes, no leverage.

    Backtrader sizes in whole units by default; coins trade in fractions. A coin not listed
    yet has a NaN price: a zero position in it is worth 0, not NaN.
    """

    params = (("commission", 0.001), ("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC),
              ("percabs", True))

    def getsize(self, price, cash):
        return self.p.leverage * (cash / price)

    def getvaluesize(self, size, price):
        return size * price if size else 0.0

    def getvalue(self, position, price):
        return position.size * price if position.size else 0.0


def configure_broker(broker, cash, fee_bp, slippage_bp, fill="open"):
    """Cash, fee and slippage in basis points, and the fill rule ('open': the next bar's open;
    'close': the decision bar's close, an optimistic comparison).

    Slippage moves the price against the order. With next-open fills the slipped price is
    capped to the fill bar's [low, high]. With close fills it is not capped: Backtrader would
    cap it to the range of the bar *after* the decision (the bar in which it processes the
    order), a price the decision bar never had; the close fill is close * (1 +/- slippage).
    """
    if fill not in ("open", "close"):
        from canary.feeds.errors import ConfigError, suggest

        raise ConfigError(f"fill '{fill}' is not 'open' or 'close'{suggest(fill, ('open', 'close'))}")
    broker.setcash(cash)
    broker.addcommissioninfo(SpotCryptoCommission(commission=fee_bp / 1e4))
    broker.set_slippage_perc(slippage_bp / 1e4, slip_open=True, slip_limit=True, slip_match=True,
                             slip_out=fill == "close")
    broker.set_coc(fill == "close")
