"""The roles of a universe, declared once: which series plays BTC, ETH, the altcoins, the
small-cap index and the large-cap index.

A `Role` says what a series means to the market idea, whether it is a coin (``crypto``:
traded, on the master crypto clock) or an index (``equity``: read only, on its exchange's
session clock), whether it is several series (``many``: the altcoin basket) and which shipped
symbols it is by default. Everything that names roles reads `ROLES`: the `Universe` and its
loading (`canary.feeds.market`), the Backtrader feeds of a strategy and the roles it may list
(`canary.strategies.engine`), `RiskRegime`'s split of its feeds, the screening engine's
arrays, the ``[universe]`` section of a configuration and the README's table of roles.

Adding a role (a dollar index, IWM as a second background) is one `Role` here and its data
file; a signal that reads it names it in its ``feeds``.
"""
from dataclasses import dataclass

from canary.errors import ConfigError, suggest

CRYPTO, EQUITY = "crypto", "equity"
KINDS = (CRYPTO, EQUITY)

# The altcoins of the shipped data, in the order of the default configuration.
SHIPPED_ALTS = ("BNB-USDT", "LTC-USDT", "ADA-USDT", "XRP-USDT", "XLM-USDT", "TRX-USDT", "ETC-USDT", "LINK-USDT",
                "XMR-USDT", "MATIC-USDT", "ATOM-USDT", "DOGE-USDT", "BCH-USDT", "SOL-USDT", "DOT-USDT", "UNI-USDT",
                "AVAX-USDT", "SHIB-USDT")


@dataclass(frozen=True)
class Role:
    """One role of a universe: its ``name`` (the ``[universe]`` key), its ``kind`` (``crypto``
    or ``equity``), whether it holds ``many`` series (a list in ``[universe]``), its
    ``default`` symbols (a tuple) and what it ``means`` for the market idea, in one line."""

    name: str
    kind: str
    default: tuple
    means: str
    many: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"role {self.name}: kind {self.kind!r} is not one of {KINDS}")
        if not self.many and len(self.default) != 1:
            raise ValueError(f"role {self.name}: a single role has one default symbol, not {self.default!r}")
        if self.many and self.kind != CRYPTO:
            raise ValueError(f"role {self.name}: only coins come many to a role (one session clock per index)")


ROLES = (
    Role("btc", CRYPTO, ("BTC-USDT",), "the crypto benchmark and defensive holding; its first bar starts the clock"),
    Role("eth", CRYPTO, ("ETH-USDT",), "the first step out along the risk curve (ETH/BTC strength)"),
    Role("alts", CRYPTO, SHIPPED_ALTS, "the altcoin basket: the far end of the risk curve, and its breadth",
         many=True),
    Role("small_cap", EQUITY, ("RUT",), "the small-cap index (Russell 2000) whose breakout is the risk-on background"),
    Role("large_cap", EQUITY, ("SPX",), "the large-cap index (S&P 500) small caps are compared with"),
)


def declared(kind=None):
    """The declared roles (`Role`), in declaration order (of one `kind` if given). Read at each
    use, as every function here, so a test may add a role to `ROLES`."""
    return tuple(r for r in ROLES if kind is None or r.kind == kind)


def role_names(kind=None):
    """The names of the declared roles, in declaration order (of one `kind` if given)."""
    return tuple(r.name for r in declared(kind))


def role(name):
    """The declared `Role` called `name`; an unknown name is a one-line ConfigError with the
    closest declared name."""
    for r in ROLES:
        if r.name == name:
            return r
    raise ConfigError(f"unknown role '{name}'{suggest(name, role_names())} (roles: {', '.join(role_names())})")


def feed_order():
    """The order a strategy fed every role gets its feeds in (the rotation, `RiskRegime`): the
    single roles as declared, then the roles of many series (the altcoins), which come last so
    that their number may vary (so there is at most one such role)."""
    many = tuple(r.name for r in ROLES if r.many)
    if len(many) > 1:
        raise ValueError(f"roles {', '.join(many)}: at most one role may hold many series")
    return tuple(r.name for r in ROLES if not r.many) + many


class EveryRole:
    """A strategy's ``roles`` when it is fed every declared role, in `feed_order` (read when
    the strategy is fed, so a role added to `ROLES` reaches it): the rotation's."""

    def __get__(self, obj, owner=None):
        return feed_order()
