"""What a run records, as a Backtrader analyzer."""
import backtrader as bt
import pandas as pd


def _utc(num):
    return pd.Timestamp(bt.num2date(num)).tz_localize("UTC")


class PortfolioRecorder(bt.Analyzer):
    """At each crypto bar close from the first tradable bar: portfolio value, cash, the value
    of each position and the regime (when the strategy has one); every order with its final
    status (Completed, Margin, Rejected, Canceled); and every fill with its fee.

    ``fill_delay``: time from the bar's close instant back to the fill (the bar interval for
    next-open fills; 0 for close fills), so fills are stamped with the instant they happened.
    """

    params = (("fill_delay", pd.Timedelta(days=1)),)

    def start(self):
        self.rows, self.fills, self.orders = [], [], []

    def next(self):
        strat = self.strategy
        if not strat.trading_bar:
            return
        row = {"close_time": _utc(strat.clock.datetime[0]), "value": strat.broker.getvalue(),
               "cash": strat.broker.getcash()}
        positions = strat.broker.positions
        for coin in strat.coins:
            size = positions[coin].size
            row[coin._name] = size * coin.lines.mark[0] if size else 0.0
        if hasattr(strat, "regime"):
            row["regime"] = strat.regime.regime[0]
        self.rows.append(row)

    def notify_order(self, order):
        if order.alive():
            return
        self.orders.append({"decided": _utc(order.created.dt), "symbol": order.data._name,
                            "side": "buy" if order.isbuy() else "sell", "size": abs(order.created.size),
                            "status": order.getstatusname()})
        if order.status != order.Completed:
            return
        ex = order.executed
        filled = _utc(ex.dt)
        if not self.strategy.broker.p.coc:
            filled -= self.p.fill_delay
        self.fills.append({
            "date": filled, "symbol": order.data._name, "side": "buy" if order.isbuy() else "sell",
            "size": abs(ex.size), "price": ex.price, "value": abs(ex.size) * ex.price, "fee": ex.comm,
            "decided": _utc(order.created.dt),
        })

    def get_analysis(self):
        frame = pd.DataFrame(self.rows)
        if not frame.empty:
            frame = frame.set_index("close_time")
        fills = pd.DataFrame(self.fills, columns=["date", "symbol", "side", "size", "price", "value", "fee", "decided"])
        orders = pd.DataFrame(self.orders, columns=["decided", "symbol", "side", "size", "status"])
        return {"portfolio": frame, "fills": fills, "orders": orders}
