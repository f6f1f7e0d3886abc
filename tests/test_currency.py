"""The quote currency comes from the data (the symbols' suffix, or data.currency), never assumed."""
import json
import shutil

import pytest
from clirun import main

from canary.feeds import SHIPPED_DIR
from canary.feeds.market import Universe
from canary.runs.backtest import UNKNOWN_CURRENCY, quote_currency


@pytest.mark.parametrize("btc, eth, alts, quote", [
    ("BTC-USDT", "ETH-USDT", ("SOL-USDT",), "USDT"),
    ("BTC-USD", "ETH-USD", (), "USD"),
    ("BTC/EUR", "ETH/EUR", (), "EUR"),
    ("BTC", "ETH", (), UNKNOWN_CURRENCY),
])
def test_the_quote_is_read_from_the_symbols(btc, eth, alts, quote):
    assert quote_currency("", Universe(btc, eth, alts)) == quote


def test_a_stated_currency_wins_and_mixed_quotes_are_refused():
    from canary.errors import ConfigError

    assert quote_currency("USD", Universe("BTC-USDT", "ETH-USD")) == "USD"
    assert quote_currency("EUR", Universe("BTC", "ETH", ())) == "EUR"   # names a quote the symbols do not
    for stated, btc, quote in (("EUR", "BTC-USDT", "USDT"), ("USDT", "BTC/EUR", "EUR")):
        with pytest.raises(ConfigError, match=f"data.currency {stated}: the crypto prices are quoted in {quote} "
                                              ".* and nothing is converted"):
            quote_currency(stated, Universe(btc, btc.replace("BTC", "ETH"), ()))
    with pytest.raises(ConfigError, match="BTC-USDT.*ETH-USD|USD.*USDT"):
        quote_currency("", Universe("BTC-USDT", "ETH-USD"))


def test_usd_data_are_labelled_usd(tmp_path):
    data = tmp_path / "usd"
    data.mkdir()
    for src, dst in (("crypto/BTC-USDT.csv", "BTC-USD.csv"), ("crypto/ETH-USDT.csv", "ETH-USD.csv"),
                     ("equity/RUT.csv", "RUT.csv"), ("equity/SPX.csv", "SPX.csv")):
        shutil.copy(SHIPPED_DIR / src, data / dst)
    proc = main("run", "--data", data, "--set", "universe.btc=BTC-USD", "--set", "universe.eth=ETH-USD",
                "--set", "universe.alts=[]", "--start", "2025-01-01", "--out", tmp_path, "--name", "u", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].endswith("values in USD")
    assert json.loads((tmp_path / "u" / "metrics.json").read_text())["quote_currency"] == "USD"
    html = (tmp_path / "u" / "tearsheet.html").read_text()
    assert "values in USD," in html and "USDT" not in html
