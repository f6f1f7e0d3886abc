"""Run configurations: TOML files, validated before any work.

Every key has a type and a rule; an unknown key, a wrong type or an impossible value is a
ConfigError naming the key (with the closest right key for a misspelling). ``--set
section.key=value`` overrides go through the same checks.
"""
import copy
import datetime
import math
import tomllib
from pathlib import Path

from canary.errors import ConfigError, suggest
from canary.indicators.smallcap_breakout import MODES
from canary.strategies.rotation import BASKET_WEIGHTINGS

DEFAULT_CONFIG = Path(__file__).resolve().parent / "default.toml"


def _positive_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _nonneg(v):
    return v >= 0


def _fraction(v):
    return 0 <= v <= 1


def _date_or_empty(v):
    if v == "":
        return True
    try:
        datetime.date.fromisoformat(v)
        return True
    except ValueError:
        return False


def _instant_or_empty(v):
    if v == "":
        return True
    try:
        datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


# section -> key -> (type, rule, what the rule says)
INT, FLOAT, STR, BOOL, LIST = int, float, str, bool, list
SCHEMA = {
    "data": {
        "folder": (STR, None, ""),
        "start": (STR, _date_or_empty, "a date (YYYY-MM-DD) or empty"),
        "end": (STR, _date_or_empty, "a date (YYYY-MM-DD) or empty"),
        "recorded_at": (STR, _instant_or_empty, "an ISO date or time (UTC if no offset), or empty"),
        "cache_dir": (STR, None, ""),
        "currency": (STR, None, ""),
    },
    # symbol -> where its bars come from: "shipped" (the data folder), "yfinance", "ccxt",
    # "ccxt:<exchange>" (from the cache of `canary data fetch`). Keys are symbols, not fixed.
    "sources": {},
    "universe": {
        "btc": (STR, bool, "a symbol"),
        "eth": (STR, bool, "a symbol"),
        "alts": (LIST, None, ""),
        "small_cap": (STR, bool, "a symbol"),
        "large_cap": (STR, bool, "a symbol"),
    },
    "filter": {
        "mode": (STR, lambda v: v in MODES, f"one of {', '.join(MODES)}"),
        "level": (FLOAT, lambda v: v > 0, "positive"),
        "period": (INT, _positive_int, "a whole number >= 1"),
        "distance": (FLOAT, lambda v: v > -1, "above -1"),
        "confirm": (INT, _positive_int, "a whole number >= 1"),
        "hysteresis": (FLOAT, lambda v: 0 <= v < 1, "in [0, 1)"),
        "use_rotation": (BOOL, None, ""),
        "rotation_period": (INT, _positive_int, "a whole number >= 1"),
        "min_rotation": (FLOAT, None, ""),
        "eth_period": (INT, _positive_int, "a whole number >= 1"),
        "eth_momentum_period": (INT, _positive_int, "a whole number >= 1"),
        "min_eth_trend": (FLOAT, None, ""),
        "min_eth_momentum": (FLOAT, None, ""),
        "breakout_period": (INT, _positive_int, "a whole number >= 1"),
        "breakout_horizon": (INT, _positive_int, "a whole number >= 1"),
        "breakout_window": (INT, _positive_int, "a whole number >= 1"),
        "max_failed_rate": (FLOAT, _fraction, "in [0, 1]"),
        "sideways_period": (INT, _positive_int, "a whole number >= 1"),
        "sideways_band": (FLOAT, lambda v: v > 0, "positive"),
        "volume_lookback": (INT, _positive_int, "a whole number >= 1"),
        "volume_window": (INT, _positive_int, "a whole number >= 1"),
        "min_volume_hold": (FLOAT, _nonneg, "not negative"),
        "breadth_needed": (INT, lambda v: v in (0, 1, 2), "0, 1 or 2"),
    },
    "strategy": {
        "defensive": (STR, lambda v: v in ("cash", "btc"), "cash or btc"),
        "eth_weight": (FLOAT, _fraction, "in [0, 1]"),
        "alt_core": (FLOAT, _fraction, "in [0, 1]"),
        "weighting": (STR, lambda v: v in BASKET_WEIGHTINGS, f"one of {', '.join(BASKET_WEIGHTINGS)}"),
        "top_k": (INT, _positive_int, "a whole number >= 1"),
        "min_history": (INT, _positive_int, "a whole number >= 1"),
        "vol_window": (INT, lambda v: _positive_int(v) and v >= 2, "a whole number >= 2"),
        "momentum_window": (INT, _positive_int, "a whole number >= 1"),
        "min_hold": (INT, lambda v: isinstance(v, int) and v >= 0, "a whole number >= 0"),
        "rebalance_every": (INT, lambda v: isinstance(v, int) and v >= 0, "a whole number >= 0 (0: never)"),
        "drift_band": (FLOAT, lambda v: 0 <= v < 1, "in [0, 1)"),
        "cash_buffer": (FLOAT, lambda v: 0 <= v < 0.5, "in [0, 0.5)"),
    },
    "costs": {
        "cash": (FLOAT, lambda v: v > 0, "positive"),
        "fee_bp": (FLOAT, lambda v: 0 <= v < 1e4, "not negative (basis points)"),
        "slippage_bp": (FLOAT, lambda v: 0 <= v < 1e4, "not negative (basis points)"),
        "fill": (STR, lambda v: v in ("open", "close"), "open or close"),
    },
}


def _check_value(key, kind, rule, says, value):
    if kind is STR and isinstance(value, (datetime.date, datetime.time)):
        value = value.isoformat()  # TOML reads a bare 2020-01-01 as a date
    if kind is FLOAT and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok_type = isinstance(value, kind) and not (kind in (INT, FLOAT) and isinstance(value, bool))
    if not ok_type:
        raise ConfigError(f"{key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    if kind is FLOAT and not math.isfinite(value):
        raise ConfigError(f"{key}: must be a finite number, got {value!r}")
    if kind is LIST and not all(isinstance(s, str) and s for s in value):
        raise ConfigError(f"{key}: expected a list of symbols")
    if rule is not None and not rule(value):
        raise ConfigError(f"{key}: {value!r} is not allowed: must be {says}")
    return value


def _check_source(symbol, value):
    from canary.feeds.sources import parse_source

    if not isinstance(value, str):
        raise ConfigError(f"sources.{symbol}: expected str, got {type(value).__name__} {value!r}")
    try:
        parse_source(value)
    except ConfigError as exc:
        raise ConfigError(f"sources.{symbol}: {exc}") from None
    return value


def validate(config, source="configuration"):
    """A checked copy of `config` (a dict of sections), or a ConfigError naming the key."""
    out = validate_partial(config, source)
    missing = [f"{s}.{k}" for s in SCHEMA for k in SCHEMA[s] if k not in out.get(s, {})]
    if missing:
        raise ConfigError(f"{source}: missing key {missing[0]}")
    data = out["data"]
    if data["start"] and data["end"] and data["start"] >= data["end"]:
        raise ConfigError(f"data.start {data['start']} is not before data.end {data['end']} "
                          "(give both --start and --end)")
    u = out["universe"]
    roles = [u["btc"], u["eth"], *u["alts"]]
    repeated = sorted({s for s in roles if roles.count(s) > 1})
    if repeated:
        raise ConfigError(f"universe: {repeated[0]} appears twice among btc, eth and alts")
    return out


def read_toml(path):
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def parse_override(text):
    """'section.key=value' -> (section, key, value), the value read as TOML (bare words as strings)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"--set {text}: expected section.key=value, e.g. filter.confirm=5")
    dotted, raw = text.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    key = key.strip().strip('"')  # sources."^RUT"=... quotes a symbol as TOML would
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def load_config(path=None, overrides=(), settings=()):
    """The default configuration, the file at `path` on top of it, then `overrides`
    ('section.key=value' texts), then `settings` ((section, key, value) from command-line
    flags); validated. A user's file may give only the keys it changes.
    """
    config = read_toml(DEFAULT_CONFIG)
    source = str(DEFAULT_CONFIG)
    if path is not None:
        source = str(path)
        user = read_toml(path)
        validate_partial(user, source)
        for section, values in user.items():
            config[section].update(values)
    for text in overrides:
        section, key, value = parse_override(text)
        validate_partial({section: {key: value}}, f"--set {text}")
        config[section][key] = value
    for section, key, value in settings:
        validate_partial({section: {key: value}}, f"{section}.{key}")
        config[section][key] = value
    return validate(config, source)


def validate_partial(config, source):
    """A checked copy of the sections and keys present in `config` (types and rules)."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: not a table of sections")
    out = {}
    for section, values in config.items():
        if section not in SCHEMA:
            raise ConfigError(f"{source}: unknown section [{section}]{suggest(section, SCHEMA)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        out[section] = {}
        for key, value in values.items():
            if section == "sources":
                out[section][key] = _check_source(key, value)
                continue
            if key not in SCHEMA[section]:
                raise ConfigError(f"{section}.{key}: unknown key{suggest(key, SCHEMA[section])}")
            out[section][key] = _check_value(f"{section}.{key}", *SCHEMA[section][key], value)
    return out


def regime_params(config):
    """RiskRegime parameters from the [filter] section."""
    f = copy.deepcopy(config["filter"])
    use = f.pop("use_rotation")
    f["min_rotation"] = f["min_rotation"] if use else None
    return f


def rotation_params(config):
    """SmallCapRotation parameters from the [strategy] and [filter] sections."""
    return dict(config["strategy"], regime_params=regime_params(config))
