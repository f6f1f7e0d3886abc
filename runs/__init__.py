"""The command line, run configurations and backtests (`cli`, `config`, `backtest`, `screening`,
`replay`), with the jobs they run in subpackages: `tune`, `study`, `report` and `live`."""
