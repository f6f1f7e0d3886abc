"""The target-weight portfolio of `TargetWeightStrategy`, over arrays, compiled with numba.

The screening engine's portfolio loop: the same decisions, orders, fills, costs and values as
`TargetWeightStrategy` running in Backtrader with `SpotBroker`, computed over arrays (bars x
coins on the master crypto clock) instead of Backtrader's event loop. It is pinned to the
Backtrader path by a parity property test (tests/test_screening_parity.py): a change of the
strategy's semantics lands in both.

What a run is given, in three named tuples (so that no two inputs can be swapped silently):

* `Prices`, bars x coins: ``opens``, ``highs``, ``lows``, ``closes`` (NaN where the coin has
  no bar), ``marks`` (the last traded close, carried through gaps), ``listed`` and
  ``delisting`` (1.0/0.0), as `feeds.alignment.on_clock` builds them, the strategy's coins in
  feed order; and ``equity_step``, per bar: True when an equity close of one of its feeds
  falls strictly between the previous crypto bar and this one (Backtrader then takes a step
  of its own there: it matters only for close fills, see `_broker_step`);
* `Rules`: the strategy's plan (`canary.strategies.plan.TargetPlan`: ``phase``, ``row``,
  ``fixed``, ``varying``, ``min_hold``, ``rebalance_every``) with its ``drift_band`` and
  ``cash_buffer``. A rebalance takes the targets of the phase last acted on at the current bar;
* `Frictions`: ``fee`` and ``slip`` (fractions), ``sizing`` (the fraction buys are sized
  within), ``fill_close`` (True: the decision bar's close; False: the next traded bar's
  open) and the starting ``cash``, all from `canary.strategies.costs.Costs`.

Fills and orders are recorded in structured arrays (`FILL`, `ORDER`), one field per column.

Decisions start at bar ``t0`` (the first bar at or after ``trade_from``); values are recorded
from there on.
"""
from typing import NamedTuple

import numpy as np

from canary.extras import require

from .plan import VARYING
from .portfolio import DUST

numba = require("numba", "the screening engine (--engine fast, canary tune, now, paper)")
njit, prange = numba.njit, numba.prange

# Compiled code is cached beside this module, or, where that cannot be written (a system
# site-packages), in the user's cache folder: numba's own fallback, chosen without touching
# the environment at import.

NEVER = 1 << 40      # bars since the last trade before any trade (Backtrader: math.inf)

# order states
_SUBMITTED, _ACCEPTED = 1, 2
# order statuses recorded (Backtrader's names: Completed, Margin)
COMPLETED, MARGIN = 0, 1

# per-run statistics returned by `simulate_batch`
STAT_TRADES, STAT_TRADED, STAT_FEES, STAT_REJECTED, STAT_INVESTED = range(5)
N_STATS = 5

# a fill: the bar decided at, the bar filled at, the coin's column, buy or sell, size, price, fee
FILL = np.dtype([("decided", np.int64), ("filled", np.int64), ("coin", np.int64), ("buy", np.bool_),
                 ("size", np.float64), ("price", np.float64), ("fee", np.float64)])
# a finished order: the bar decided at, the coin's column, buy or sell, size, status (COMPLETED, MARGIN)
ORDER = np.dtype([("decided", np.int64), ("coin", np.int64), ("buy", np.bool_), ("size", np.float64),
                  ("status", np.int64)])


class Prices(NamedTuple):
    """The strategy's coins, bars x coins, and its equity steps per bar (see the module docstring)."""

    opens: np.ndarray
    highs: np.ndarray
    lows: np.ndarray
    closes: np.ndarray
    marks: np.ndarray
    listed: np.ndarray
    delisting: np.ndarray
    equity_step: np.ndarray


class Rules(NamedTuple):
    """A plan and the strategy's drift band and cash buffer."""

    phase: np.ndarray
    row: np.ndarray
    fixed: np.ndarray
    varying: np.ndarray
    min_hold: int
    rebalance_every: int
    drift_band: float
    cash_buffer: float


class Frictions(NamedTuple):
    """Costs as fractions, the fill rule and the starting cash."""

    fee: float
    slip: float
    sizing: float
    fill_close: bool
    cash: float

    @classmethod
    def of(cls, costs):
        """From a `canary.strategies.costs.Costs`."""
        return cls(costs.fee, costs.slippage, costs.sizing, costs.fill == "close", float(costs.cash))


class Batch(NamedTuple):
    """Many runs' rules: run ``i`` has ``phases[phase_of[i]]`` and ``rows[phase_of[i]]``,
    ``fixed[i]``, ``varying[varying_of[i]]`` and the i-th entry of the other arrays."""

    phases: np.ndarray
    rows: np.ndarray
    phase_of: np.ndarray
    fixed: np.ndarray
    varying: np.ndarray
    varying_of: np.ndarray
    min_hold: np.ndarray
    rebalance_every: np.ndarray
    drift_band: np.ndarray
    cash_buffer: np.ndarray


@njit(cache=True)
def _value(cash, pos, avg, closes, marks, t):
    """(value, held): Backtrader's `BackBroker._get_value`, cash plus each position at its
    close (its last traded close through a gap), summed as Backtrader sums it (value less
    unrealised profit, then unrealised profit: the last bit of the value decides a margin
    check with no costs and no cash buffer); and the gross value of the positions."""
    v = 0.0
    held = 0.0
    for c in range(pos.shape[0]):
        s = pos[c]
        if s == 0.0:
            continue
        price = closes[t, c]
        if np.isnan(price):
            price = marks[t, c]
        dvalue = s * price
        held += abs(dvalue)
        unreal = s * (price - avg[c]) * 1.0
        if dvalue > 0:
            v += (dvalue - unreal) / 1.0
            v += unreal
        else:
            v += dvalue
    return cash + v, held


@njit(cache=True)
def _broker_step(v, px, fr, cash, pos, avg, o_coin, o_size, o_buy, o_created, o_exit, o_state, n_orders, exiting,
                 record, f_out, n_f, r_out, n_r, stats):
    """One `BackBroker.next` seeing crypto bar `v`: the margin check of newly submitted orders
    (`check_submitted`), then every live order in turn (`_try_exec`). Returns (cash, n_orders,
    n_f, n_r) after compacting the order list.

    Backtrader's rules reproduced here:
    * an order submitted at a decision is checked at the next step with the cash then, each
      order pseudo-executed at its creation close in submission order with the fee only; a
      buy that would take that running cash below 0 is refused (Margin), and the running cash
      stays where it fell, so later buys of the step are refused too;
    * an order fills only on a bar where its coin is listed (`SpotBroker`) and, for open
      fills, after its creation bar: at that bar's open, slipped against it and capped at its
      high/low. Close fills use the creation bar's close, slipped and not capped, even when
      they wait through a gap (Backtrader's cheat-on-close keeps the creation price);
    * a buy whose cost and fee exceed the cash at its fill is refused (Margin), not shrunk.
    """
    if n_orders == 0:
        return cash, 0, n_f, n_r
    fill_close, fee, slip = fr.fill_close, fr.fee, fr.slip
    opens, highs, lows, closes, listed = px.opens, px.highs, px.lows, px.closes, px.listed
    # check_submitted
    pcash = cash
    for i in range(n_orders):
        if o_state[i] != _SUBMITTED:
            continue
        c = o_coin[i]
        price = closes[o_created[i], c]
        s = o_size[i]
        if o_buy[i]:
            pcash -= s * price
            pcash -= abs(s) * fee * price
        else:
            pcash += s * price + 0
            pcash -= abs(-s) * fee * price
        if pcash >= 0.0:
            o_state[i] = _ACCEPTED
        else:
            o_state[i] = 0
            stats[STAT_REJECTED] += 1
            if o_exit[i]:
                exiting[c] = False
            if record:
                _order(r_out[n_r], o_created[i], c, o_buy[i], s, MARGIN)
                n_r += 1
    # pending orders, in the order they were accepted
    for i in range(n_orders):
        if o_state[i] != _ACCEPTED:
            continue
        c = o_coin[i]
        if listed[v, c] != 1.0:
            continue
        created = o_created[i]
        if fill_close:
            base = closes[created, c]
        else:
            if v <= created:
                continue
            base = opens[v, c]
        s = o_size[i]
        if o_buy[i]:
            price = base
            if slip:
                price = base * (1 + slip)
                if not price <= highs[v, c] and not fill_close:
                    price = highs[v, c]
            trial = cash - s * price
            comm = abs(s) * fee * price
            trial -= comm
            o_state[i] = 0
            if trial < 0.0:
                stats[STAT_REJECTED] += 1
                status = MARGIN
            else:
                cash = trial
                old = pos[c]
                pos[c] = old + s
                if old == 0.0:
                    avg[c] = price
                else:
                    avg[c] = (avg[c] * old + s * price) / pos[c]
                status = COMPLETED
        else:
            price = base
            if slip:
                price = base * (1 - slip)
                if not price >= lows[v, c] and not fill_close:
                    price = lows[v, c]
            porig = avg[c]
            pnl = s * (price - porig) * 1.0
            cash += s * porig + pnl * 1
            comm = abs(-s) * fee * price
            cash -= comm
            pos[c] = pos[c] - s
            if pos[c] == 0.0:
                avg[c] = 0.0
            o_state[i] = 0
            if o_exit[i]:
                exiting[c] = False
            status = COMPLETED
        if status == COMPLETED:
            stats[STAT_TRADES] += 1
            stats[STAT_TRADED] += s * price
            stats[STAT_FEES] += comm
            if record:
                f = f_out[n_f]
                f.decided, f.filled, f.coin, f.buy, f.size, f.price, f.fee = created, v, c, o_buy[i], s, price, comm
                n_f += 1
        if record:
            _order(r_out[n_r], created, c, o_buy[i], s, status)
            n_r += 1
    # compact the live orders, keeping their order
    j = 0
    for i in range(n_orders):
        if o_state[i] != 0:
            o_coin[j] = o_coin[i]
            o_size[j] = o_size[i]
            o_buy[j] = o_buy[i]
            o_created[j] = o_created[i]
            o_exit[j] = o_exit[i]
            o_state[j] = o_state[i]
            j += 1
    return cash, j, n_f, n_r


@njit(cache=True)
def _order(r, decided, coin, buy, size, status):
    r.decided, r.coin, r.buy, r.size, r.status = decided, coin, buy, size, status


@njit(cache=True)
def _submit(n, coin, size, buy, t, is_exit, o_coin, o_size, o_buy, o_created, o_exit, o_state):
    o_coin[n] = coin
    o_size[n] = size
    o_buy[n] = buy
    o_created[n] = t
    o_exit[n] = is_exit
    o_state[n] = _SUBMITTED
    return n + 1


@njit(cache=True)
def simulate(px, rules, fr, t0, record, values, cash_out, held_out, f_out, r_out, stats):
    """One run of `TargetWeightStrategy` on `Prices` `px` under `Rules` and `Frictions` (see
    the module docstring).

    Writes, from bar ``t0`` on: ``values`` and ``cash_out`` (per bar), and with ``record``
    ``held_out`` (bars x coins: each position at its mark), the fills ``f_out`` (`FILL`) and
    every finished order ``r_out`` (`ORDER`) in the order Backtrader notifies them. ``stats``
    gets the counts of `STAT_*`. Returns (fills, orders) written.
    """
    closes, marks, listed, delisting, equity_step = px.closes, px.marks, px.listed, px.delisting, px.equity_step
    phase, row, fixed, varying = rules.phase, rules.row, rules.fixed, rules.varying
    min_hold, rebalance_every, drift_band = rules.min_hold, rules.rebalance_every, rules.drift_band
    fill_close, costs = fr.fill_close, fr.sizing
    n, k = closes.shape
    pos = np.zeros(k)
    avg = np.zeros(k)
    exiting = np.zeros(k, dtype=np.bool_)
    cap = 4 * k + 8
    o_coin = np.zeros(cap, dtype=np.int64)
    o_size = np.zeros(cap)
    o_buy = np.zeros(cap, dtype=np.bool_)
    o_created = np.zeros(cap, dtype=np.int64)
    o_exit = np.zeros(cap, dtype=np.bool_)
    o_state = np.zeros(cap, dtype=np.int64)
    targets = np.zeros(k)
    sell_size = np.zeros(k)
    buy_size = np.zeros(k)
    sell_all = np.zeros(k, dtype=np.bool_)
    kind = np.zeros(k, dtype=np.int64)    # 0 nothing, 1 sell, 2 buy, 3 being exited
    cash = fr.cash
    n_orders = 0
    n_f = 0
    n_r = 0
    held = -1
    held_row = 0
    since = NEVER
    scale = 1.0 - rules.cash_buffer
    for t in range(t0, n):
        if fill_close and t > t0 and equity_step[t]:
            # an equity close between two crypto bars is a step of its own in Backtrader, where
            # cheat-on-close orders of the last decision fill, their coins seen at that bar
            cash, n_orders, n_f, n_r = _broker_step(
                t - 1, px, fr, cash, pos, avg, o_coin, o_size, o_buy, o_created, o_exit, o_state, n_orders,
                exiting, record, f_out, n_f, r_out, n_r, stats)
        cash, n_orders, n_f, n_r = _broker_step(
            t, px, fr, cash, pos, avg, o_coin, o_size, o_buy, o_created, o_exit, o_state, n_orders, exiting,
            record, f_out, n_f, r_out, n_r, stats)
        value, invested = _value(cash, pos, avg, closes, marks, t)
        # -- the decision at this bar's close (TargetWeightStrategy.next)
        if since < NEVER:
            since += 1
        for c in range(k):   # exit_delisted
            if delisting[t, c] == 1.0 and pos[c] != 0.0 and not exiting[c]:
                exiting[c] = True
                n_orders = _submit(n_orders, c, abs(pos[c]), pos[c] < 0, t, True,
                                   o_coin, o_size, o_buy, o_created, o_exit, o_state)
        p = phase[t]
        due = False
        if p != held and since >= min_hold:
            held = p
            held_row = row[t]
            due = True
        elif rebalance_every > 0 and since >= rebalance_every:
            due = True
        if due:
            if held_row == VARYING:
                for c in range(k):
                    targets[c] = varying[t, c]
            else:
                for c in range(k):
                    targets[c] = fixed[held_row, c]
            drifted = False
            any_order = False
            for c in range(k):   # TargetWeightStrategy.rebalance
                kind[c] = 0
                price = closes[t, c]
                h = pos[c]
                if exiting[c]:
                    kind[c] = 3
                    continue
                if np.isnan(price) or (h == 0.0 and targets[c] == 0.0):
                    continue
                weight = targets[c] * scale
                delta = weight * value - h * price
                within = weight != 0.0 and h != 0.0 and abs(delta) < drift_band * value
                if abs(delta) <= DUST * value and weight != 0.0 and h != 0.0:
                    continue
                if weight == 0.0 and h != 0.0:
                    kind[c] = 1
                    sell_all[c] = True
                elif delta < 0:
                    kind[c] = 1
                    sell_all[c] = False
                    sell_size[c] = -delta / price
                elif delta > 0 and listed[t, c] == 1.0 and delisting[t, c] == 0.0:
                    kind[c] = 2
                    buy_size[c] = delta / price
                else:
                    continue
                any_order = True
                drifted = drifted or not within
            if drifted:
                proceeds = 0.0
                for c in range(k):   # sells, then exits, as Backtrader lists them
                    if kind[c] == 1:
                        proceeds += (pos[c] if sell_all[c] else sell_size[c]) * closes[t, c]
                for c in range(k):
                    if kind[c] == 3:
                        proceeds += pos[c] * closes[t, c]
                budget = cash + proceeds * (1 - costs)
                need = 0.0
                for c in range(k):
                    if kind[c] == 2:
                        need += buy_size[c] * closes[t, c]
                need = need * (1 + costs)
                shrink = 1.0
                if need > 0:
                    ratio = budget * scale / need
                    if ratio < 1.0:   # min(1.0, ratio): a NaN ratio keeps 1.0, as Python's min does
                        shrink = ratio
                for c in range(k):
                    if kind[c] == 1:
                        s = abs(pos[c]) if sell_all[c] else sell_size[c]
                        n_orders = _submit(n_orders, c, s, False, t, False,
                                           o_coin, o_size, o_buy, o_created, o_exit, o_state)
                for c in range(k):
                    if kind[c] == 2:
                        n_orders = _submit(n_orders, c, buy_size[c] * shrink, True, t, False,
                                           o_coin, o_size, o_buy, o_created, o_exit, o_state)
                if any_order:
                    since = 0
        # -- what the recorder sees at this bar
        j = t - t0
        values[j] = value
        cash_out[j] = cash
        if record:
            for c in range(k):
                held_out[j, c] = pos[c] * marks[t, c] if pos[c] != 0.0 else 0.0
        if invested / value > 0.01:
            stats[STAT_INVESTED] += 1
    return n_f, n_r


@njit(cache=True, parallel=True)
def simulate_batch(px, batch, fr, t0, values, stats):
    """Many runs of one strategy's `Batch` on `Prices` `px`, in parallel: writes ``values[i]``
    (per bar from ``t0``) and ``stats[i]``."""
    runs = batch.phase_of.shape[0]
    k = px.closes.shape[1]
    m = px.closes.shape[0] - t0
    for i in prange(runs):
        p = batch.phase_of[i]
        rules = Rules(batch.phases[p], batch.rows[p], batch.fixed[i], batch.varying[batch.varying_of[i]],
                      batch.min_hold[i], batch.rebalance_every[i], batch.drift_band[i], batch.cash_buffer[i])
        simulate(px, rules, fr, t0, False, values[i], np.empty(m), np.empty((0, k)), np.empty(0, FILL),
                 np.empty(0, ORDER), stats[i])
