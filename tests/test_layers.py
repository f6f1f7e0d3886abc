"""Layer hygiene: what every layer shares sits at the package root, once."""
import importlib
from pathlib import Path

import backtrader as bt
import pytest

import canary
from canary import errors, params

ROOT = Path(canary.__file__).resolve().parent


@pytest.mark.parametrize("gone", ["canary.feeds.errors", "canary.indicators.params"])
def test_error_contract_and_strict_params_have_no_copies_below_the_root(gone):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(gone)


def test_no_module_defines_its_own_error_classes_or_param_checks():
    defined = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or "tests" in path.parts or path.parent == ROOT:
            continue
        text = path.read_text()
        for needle in ("class CanaryError", "class ConfigError", "class DataError", "def check_params",
                       "class ParameterError", "def suggest("):
            if needle in text:
                defined.append(f"{path.relative_to(ROOT)}: {needle}")
    assert defined == []


def test_parameter_error_is_a_config_error_exiting_with_usage_status():
    assert issubclass(params.ParameterError, errors.ConfigError)
    assert params.ParameterError.exit_status == 2
    assert errors.DataError.exit_status == 1


class _Window(params.Indicator):
    lines = ("mean",)
    params = (("period", 3),)

    def __init__(self):
        self.lines.mean = bt.indicators.SMA(self.data, period=self.p.period)


class _Hold(params.Strategy):
    params = (("period", 3),)

    def __init__(self):
        _Window(self.data, peirod=self.p.period)


class _Plain(params.Strategy):
    params = (("size", 1.0),)


def _run(strategy, **kwargs):
    import pandas as pd

    frame = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 0.0},
                         index=pd.date_range("2024-01-01", periods=5, freq="D"))
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(strategy, **kwargs)
    return cerebro.run()


def test_one_strict_mechanism_for_indicators_and_strategies():
    with pytest.raises(params.ParameterError, match=r"_Window: unknown parameter 'peirod' \(did you mean 'period'\?\)"):
        _run(_Hold)
    with pytest.raises(params.ParameterError, match=r"_Plain: unknown parameter 'sise' \(did you mean 'size'\?\)"):
        _run(_Plain, sise=2.0)
    assert _run(_Plain, size=2.0)[0].p.size == 2.0
