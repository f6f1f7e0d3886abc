"""How much of a point-in-time altcoin universe the run could hold (`canary.feeds.pointintime`).

``coverage.csv`` has one row per ranking snapshot in force during the run: ``snapshot`` (its
date), ``from`` (the first bar close it decides at: the end of its UTC day), ``top`` (how many
coins it ranks in the top N), ``priced`` (how many of them had a price then),
``priced_cap_share`` (their share of the top N's market cap), and the coins, priced and missing.
The summary weighs each snapshot by the time it was in force within the run, so that weekly
snapshots (from 2021) count no more than the monthly ones before them.
"""
import pandas as pd


def in_run(coverage, start, end):
    """The rows of `coverage` in force at some bar from `start` to `end` (UTC instants), with
    ``days``: how long each was in force within the run."""
    starts = pd.to_datetime(coverage["from"], utc=True)
    ends = starts.shift(-1).fillna(end)
    lo, hi = starts.clip(lower=start), ends.clip(upper=end)
    rows = coverage.assign(days=(hi - lo).dt.total_seconds() / 86400.0)
    keep = (ends > start) & (starts <= end)
    return rows[keep].reset_index(drop=True)


def summary(rows, pit):
    """The figures of the coverage line (a dict, as metrics.json keeps them), or None without rows."""
    if rows.empty:
        return None
    weights = rows["days"].clip(lower=0)
    mean = float((rows["priced_cap_share"] * weights).sum() / weights.sum()) if weights.sum() > 0 else \
        float(rows["priced_cap_share"].mean())
    low = rows.loc[rows["priced_cap_share"].idxmin()]
    return {"alts_top": pit.top, "missing": pit.missing, "snapshots": len(rows),
            "mean_priced_cap_share": mean, "lowest_priced_cap_share": float(low["priced_cap_share"]),
            "lowest_on": low["snapshot"], "places": int(rows["top"].sum()),
            "unpriced_places": int((rows["top"] - rows["priced"]).sum())}


def line(figures):
    """The coverage line printed under the metrics table and in the tear sheet."""
    rule = ("their weight kept in cash" if figures["missing"] == "cash"
            else "the priced coins sharing their weight")
    n = figures["alts_top"]
    return (f"point-in-time basket: {figures['mean_priced_cap_share']:.0%} of the top-{n} altcoin market cap "
            f"priced on average, lowest {figures['lowest_priced_cap_share']:.0%} on {figures['lowest_on']}; "
            f"{figures['unpriced_places']:,} of {figures['places']:,} top-{n} places over "
            f"{figures['snapshots']:,} snapshots had no price ({rule}); see coverage.csv")
