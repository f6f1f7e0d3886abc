"""`canary study`: events read as the strategy reads the background, forward returns checked
against the price files, and the command end to end on the shipped data.

Expected values are computed here from the CSV files with plain pandas, never copied from a run.
"""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_user_error, canary

from canary.feeds import SHIPPED_DIR
from canary.indicators.regime import RISK_OFF
from canary.runs.backtest import plan
from canary.runs.config import load_config, rotation_params
from canary.runs.study.events import ASSETS, MIN_EVENTS, background, find_events, load, small_cap_params
from canary.strategies import SmallCapRotation, run_backtest

DAY = pd.Timedelta(days=1)
CRYPTO = Path(SHIPPED_DIR) / "crypto"


def test_turn_ons_within_the_cooling_off_window_are_merged():
    on = np.array([0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    # turn-ons at bars 1, 4, 10, 12 and 22; within 10 bars of the last event kept, 4 and 10
    # merge into 1; 12 starts a new event, and 22 (10 bars after 12) another
    assert find_events(on, 10) == [(1, 2), (12, 0), (22, 0)]
    assert find_events(on, 3) == [(1, 0), (4, 0), (10, 1), (22, 0)]
    assert find_events(on, 0) == [(1, 0), (4, 0), (10, 0), (12, 0), (22, 0)]
    assert find_events(np.ones(5), 3) == []            # on from the start: never turned on


def test_the_background_is_the_one_the_rotation_trades_on():
    """The study's `ma` background at each crypto bar close is exactly where the rotation's
    regime is not risk-off (the same configuration, a short universe)."""
    p = plan(load_config(overrides=['universe.alts=["BNB-USDT"]', "data.start=2023-06-01", "filter.small_cap.confirm=4",
                                    "filter.small_cap.hysteresis=0.03", "filter.small_cap.period=80"]))
    market = load(p)
    on, *_ = background(market, dict(small_cap_params(p.config), mode="ma"))
    result = run_backtest(market, SmallCapRotation, rotation_params(p.config))
    regime = result.regimes
    assert len(regime) > 900
    mine = pd.Series(on, index=market.clock).reindex(regime.index)
    assert ((regime != RISK_OFF).astype(float).to_numpy() == mine.to_numpy()).all()
    assert 0 < mine.mean() < 1


def closes(symbol):
    """A coin's closes from its file, indexed by the date of the close instant (00:00 UTC the
    day after the bar's open date)."""
    f = pd.read_csv(CRYPTO / f"{symbol}.csv")
    return pd.Series(f["close"].to_numpy(), index=pd.to_datetime(f["timestamp"]) + DAY)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    proc = canary("study", "--reps", "200", "--out", str(out), "--name", "s", "-q")
    assert proc.returncode == 0, proc.stderr
    folder = out / "s"
    return (proc, folder, pd.read_csv(folder / "events.csv"), pd.read_csv(folder / "summary.csv"),
            json.loads((folder / "manifest.json").read_text()))


def test_study_writes_every_output(study):
    proc, folder, events, summary, manifest = study
    for name in ("events.csv", "summary.csv", "study.png", "study.md", "manifest.json"):
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(summary) == 3 * 4 * 4
    for column in ("form", "horizon", "asset", "event_mean", "unconditional_mean", "difference", "ci_low",
                   "ci_high", "hit_rate", "events", "non_overlapping_events"):
        assert column in summary.columns
    assert set(summary["asset"]) == set(ASSETS) and set(summary["horizon"]) == {7, 14, 30, 60}
    assert manifest["config"]["filter"]["small_cap"]["mode"] == "ma" and manifest["study"]["horizons"] == [7, 14, 30, 60]
    assert manifest["data"]["RUT"]["sha256"]
    assert "events" in proc.stdout and "distinguishable from zero" in proc.stdout
    assert "Does the canary sing?" in (folder / "study.md").read_text()


def test_the_absolute_level_never_fires_on_the_shipped_data(study):
    _, _, events, summary, _ = study
    assert (events["form"] == "absolute").sum() == 0      # the Russell 2000 reaches 3,000 after the crypto data end
    assert (summary.loc[summary["form"] == "absolute", "events"] == 0).all()
    assert (events["form"] == "ma").sum() >= 10


def test_events_are_read_at_the_first_crypto_close_after_the_equity_close(study):
    _, _, events, _, _ = study
    rut = pd.read_csv(SHIPPED_DIR / "equity" / "RUT.csv", index_col="date")["close"]
    for _, e in events.iterrows():
        # a session closes at 16:00 New York (20:00 or 21:00 UTC): the next crypto close is 00:00 UTC after
        assert pd.Timestamp(e["read_at"]) == pd.Timestamp(e["session"], tz="UTC") + DAY
        assert e["index_close"] == pytest.approx(rut[e["session"]])
        assert e["index_close"] > e["level"]
    for form, group in events.groupby("form"):
        gaps = pd.to_datetime(group["date"]).diff().dropna()
        assert (gaps >= pd.Timedelta(days=30)).all(), form       # the cooling-off window


def test_forward_returns_match_the_price_files(study):
    _, _, events, _, _ = study
    btc, eth = closes("BTC-USDT"), closes("ETH-USDT")
    last = btc.index[-2]            # the last bar of the files was still open when they were recorded
    alts = {s: closes(s) for s in ("BNB-USDT", "LTC-USDT", "ADA-USDT", "XRP-USDT", "XLM-USDT", "TRX-USDT",
                                   "ETC-USDT", "LINK-USDT", "XMR-USDT", "MATIC-USDT", "ATOM-USDT", "DOGE-USDT",
                                   "BCH-USDT", "SOL-USDT", "DOT-USDT", "UNI-USDT", "AVAX-USDT", "SHIB-USDT")}
    checked = 0
    for _, e in events.iterrows():
        d = pd.Timestamp(e["date"])
        for h in (7, 14, 30, 60):
            later = d + h * DAY
            if later > last:
                assert all(np.isnan(e[f"{a}_{h}d"]) for a in ASSETS)
                continue
            assert e[f"btc_{h}d"] == pytest.approx(btc[later] / btc[d] - 1, rel=1e-9)
            assert e[f"eth_{h}d"] == pytest.approx(eth[later] / eth[d] - 1, rel=1e-9)
            assert e[f"eth_btc_{h}d"] == pytest.approx(eth[later] / btc[later] / (eth[d] / btc[d]) - 1, rel=1e-9)
            # the basket: coins with 30 closes up to d and no delisting notice (their data do not
            # stop within a bar of d), equally weighted, worth their last close if they stop
            held = []
            for c in alts.values():
                window = c[(c.index > d - 30 * DAY) & (c.index <= d)]
                stops_early = c.index[-1] < last
                if len(window) == 30 and not (stops_early and c.index[-1] <= d + DAY):
                    held.append(c[c.index <= later].iloc[-1] / c[d] - 1)
            assert e[f"alt_basket_{h}d"] == pytest.approx(np.mean(held), rel=1e-9)
            checked += 1
    assert checked > 50


def test_the_summary_agrees_with_the_events_table(study):
    _, _, events, summary, _ = study
    for (form, h, asset), row in summary.set_index(["form", "horizon", "asset"]).iterrows():
        values = events.loc[events["form"] == form, f"{asset}_{h}d"].dropna()
        assert row["events"] == len(values)
        assert row["non_overlapping_events"] <= row["events"]
        if not len(values):
            continue
        assert row["event_mean"] == pytest.approx(values.mean(), abs=1e-9)  # the CSVs keep 10 digits
        assert row["hit_rate"] == pytest.approx((values > 0).mean())
        assert row["difference"] == pytest.approx(row["event_mean"] - row["unconditional_mean"], abs=1e-9)
        if len(values) >= MIN_EVENTS:
            assert row["ci_low"] < row["ci_high"]
        else:
            assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
        if len(values) > 1:
            assert row["event_mean_without_best"] == pytest.approx(values.drop(values.idxmax()).mean(), abs=1e-9)


def test_study_on_a_user_data_folder(tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    for rel in ("crypto/BTC-USDT.csv", "crypto/ETH-USDT.csv", "crypto/BNB-USDT.csv", "equity/RUT.csv",
                "equity/SPX.csv"):
        shutil.copy(SHIPPED_DIR / rel, folder)
    proc = canary("study", "--data", str(folder), "--set", 'universe.alts=["BNB-USDT"]', "--set",
                  "data.recorded_at=2026-01-06", "--horizons", "30", "--reps", "100", "--out", str(tmp_path),
                  "--name", "u", "-q")
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(tmp_path / "u" / "summary.csv")
    assert set(summary["horizon"]) == {30} and summary["events"].max() > 0


@pytest.mark.parametrize("args, words", [
    (("--horizons", "7,x"), ("--horizons",)),
    (("--confidence", "95"), ("--confidence",)),
    (("--set", "filter.small_cap.confrim=3"), ("filter.small_cap.confrim", "confirm")),
])
def test_study_mistakes_are_one_line(args, words, tmp_path):
    assert_user_error(canary("study", *args, "--out", str(tmp_path / "out")), 2, *words)
    assert not (tmp_path / "out").exists()


def _picture_of(tmp_path, events_per_form):
    from types import SimpleNamespace

    from canary.runs.study.report import plot_study

    rng = np.random.default_rng(0)
    days = np.arange(31)
    paths = {form: {"days": days, "event": rng.normal(0, 0.01, (n, len(days), len(ASSETS))).cumsum(axis=1),
                    "all": np.zeros((len(days), len(ASSETS)))} for form, n in events_per_form.items()}
    study = SimpleNamespace(paths=paths, settings=SimpleNamespace(confidence=0.9, seed=0),
                            period=(pd.Timestamp("2020-01-01"), pd.Timestamp("2024-01-01")))
    return plot_study(tmp_path / "study.png", study)


def test_the_picture_draws_a_band_only_where_the_text_gives_an_interval(tmp_path):
    fig = _picture_of(tmp_path, {"channel": MIN_EVENTS - 1, "ma": MIN_EVENTS})
    few, enough = fig.axes[:len(ASSETS)], fig.axes[len(ASSETS):]
    assert all(not ax.collections for ax in few)
    assert f"(no band under {MIN_EVENTS})" in few[0].lines[0].get_label()
    assert all(len(ax.collections) == 1 for ax in enough)


@pytest.mark.parametrize("expected, words", [(0.4, "fewer than one"), (2.4, "about 2.4"), (1.0, "about 1.0")])
def test_the_count_expected_by_chance_is_never_rounded_to_zero(expected, words):
    from canary.runs.study.report import _by_chance

    assert _by_chance(expected) == words
