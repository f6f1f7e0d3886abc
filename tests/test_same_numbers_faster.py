"""The Parquet writer of a tuning's returns writes the same file, to the last byte, as pandas
(the straightforward code it replaces)."""
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from canary.runs.report.files import write_parquet


def _awkward(days, columns, seed):
    """Returns with ties, a flat column, a total loss, infinities, NaN and signed zeros."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0005, 0.03, (days, columns))
    if columns > 3 and days > 5:
        r[:, 1] = r[:, 0]              # identical columns
        r[:, 2] = 0.0                  # one in cash
        r[3, 3] = -1.0                 # a total loss: log1p is -inf from there
        r[4, 0] = np.nan
        r[2, -1], r[5, -1] = np.inf, -0.0
        r[::7, -2] = np.round(r[::7, -2], 2)   # repeated values
    return r


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_returns_parquet_is_the_file_pandas_writes(dtype, tmp_path):
    days = 37
    index = pd.date_range("2021-03-01", periods=days, tz="UTC", name="date")
    values = _awkward(days, 9, seed=2).astype(dtype)
    columns = {str(i): values[:, i] for i in range(9)} | {"btc_buy_hold": np.linspace(-0.01, 0.02, days)}
    write_parquet(tmp_path / "mine.parquet", columns, index)
    pd.DataFrame(columns, index=index).to_parquet(tmp_path / "pandas.parquet", use_dictionary=False,
                                                 write_statistics=False)
    assert (tmp_path / "mine.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()
    assert pq.read_table(tmp_path / "mine.parquet").equals(pq.read_table(tmp_path / "pandas.parquet"),
                                                           check_metadata=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "mine.parquet"), pd.DataFrame(columns, index=index),
                                  check_freq=False)
