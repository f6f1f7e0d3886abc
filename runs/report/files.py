"""The files of a run: CSVs, Parquet tables, metrics and the equity picture (the tear sheet:
`tearsheet`)."""
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .metrics import regime_names
from .pictures import subplots

REGIME_COLOURS = {"risk-off": "#d9d9d9", "btc": "#f7c873", "eth": "#9fb8f0", "alts": "#a8dba8"}


def _dates(index):
    """Bar close instants as written in the CSVs: a date for daily bars (every close at
    midnight UTC), the full ISO timestamp for intraday bars (several closes a day)."""
    index = pd.DatetimeIndex(index)
    if len(index) and (index == index.normalize()).all() and index.normalize().is_unique:
        return [t.date().isoformat() for t in index]
    return [t.isoformat() for t in index]


def write_equity_csv(path, strategy, benchmark):
    frame = pd.DataFrame({"date": _dates(strategy.index), "strategy": strategy.to_numpy(),
                          "benchmark": benchmark.reindex(strategy.index).to_numpy()})
    frame.to_csv(path, index=False, float_format="%.10g")


def write_trades_csv(path, fills):
    out = fills.copy()
    out["date"] = [t.isoformat() for t in out["date"]]
    out["decided"] = [t.isoformat() for t in out["decided"]]
    out[["date", "symbol", "side", "size", "price", "fee", "value", "decided"]].to_csv(
        path, index=False, float_format="%.10g")


def write_weights_csv(path, result):
    """Each position's weight of the portfolio, and the cash weight, at each crypto bar close."""
    weights = result.weights()
    weights.insert(0, "cash", result.portfolio["cash"] / result.portfolio["value"])
    weights.insert(0, "date", _dates(weights.index))
    weights.to_csv(path, index=False, float_format="%.10g")


def write_orders_csv(path, orders):
    out = orders.copy()
    out["decided"] = [t.isoformat() for t in out["decided"]]
    out.to_csv(path, index=False, float_format="%.10g")


def write_comparison_csv(path, curves):
    """The equity curves of a strategy and its benchmarks ({label: equity}), one column each."""
    frame = pd.DataFrame(curves)
    frame.index = _dates(frame.index)
    frame.rename_axis("date").to_csv(path, float_format="%.10g")


def write_regimes_csv(path, regimes):
    pd.DataFrame({"date": _dates(regimes.index), "regime": regime_names(regimes).to_numpy()}).to_csv(
        path, index=False)


def write_parquet(path, columns, index):
    """Columns of numbers ({name: 1-d array}, named by strings, each as long as `index`) over
    `index`, as the Parquet file `DataFrame(columns, index).to_parquet(path, use_dictionary=False,
    write_statistics=False)` writes, which pandas reads back as that DataFrame: no dictionaries
    (the values are distinct floats) and no column statistics (the file is read whole), which
    halve the writing time. For thousands of columns (a tuning's returns) a fraction of that
    call's time: pandas converts and describes each column in Python; here it describes one
    column of each dtype, the others of that dtype are described alike, and each column goes to
    Arrow as it is."""
    columns = {name: np.asarray(values) for name, values in columns.items()}
    firsts = {}   # dtype -> the first column of it
    for name, values in columns.items():
        firsts.setdefault(values.dtype, name)
    sample = pa.Table.from_pandas(pd.DataFrame({n: columns[n] for n in firsts.values()}, index=index),
                                  preserve_index=True)
    described = json.loads(sample.schema.metadata[b"pandas"])
    kinds = len(firsts)
    entries = dict(zip(firsts, described["columns"][:kinds], strict=True))
    fields = dict(zip(firsts, list(sample.schema)[:kinds], strict=True))
    described["columns"] = ([dict(entries[v.dtype], name=n, field_name=n) for n, v in columns.items()]
                            + described["columns"][kinds:])   # the index's
    schema = pa.schema([fields[v.dtype].with_name(n) for n, v in columns.items()] + list(sample.schema)[kinds:],
                       metadata={b"pandas": json.dumps(described).encode()})
    # from_pandas: NaN is written as null, as pandas writes it
    arrays = [pa.array(v, type=fields[v.dtype].type, from_pandas=True) for v in columns.values()]
    table = pa.Table.from_arrays(arrays + sample.columns[kinds:], schema=schema)
    pq.write_table(table, path, use_dictionary=False, write_statistics=False)


def write_json(path, payload):
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


def plot_equity(path, curves, regimes=None, title=""):
    """Equity curves (log scale) over a drawdown panel, with the regimes shaded."""
    fig, (top, bottom) = subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=[3, 1])
    if regimes is not None and len(regimes):
        names = regime_names(regimes)
        change = names.ne(names.shift()).cumsum()
        for _, block in names.groupby(change):
            colour = REGIME_COLOURS.get(block.iloc[0])
            if colour:
                top.axvspan(block.index[0], block.index[-1], color=colour, alpha=0.5, lw=0)
        for name, colour in REGIME_COLOURS.items():
            top.fill_between([], [], color=colour, label=f"regime: {name}")
    for name, equity in curves.items():
        top.plot(equity.index, equity.to_numpy(), lw=1.2, label=name)
        bottom.plot(equity.index, (equity / equity.cummax() - 1.0).to_numpy() * 100, lw=0.9, label=name)
    top.set_yscale("log")
    top.set_ylabel("portfolio value (log)")
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8, ncol=2)
    bottom.set_ylabel("drawdown %")
    bottom.tick_params(axis="x", labelbottom=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
