"""smallcap-canary: does a Russell 2000 breakout foreshadow crypto rotating from BTC into ETH and altcoins?

Installed as one package, ``canary``, whose subpackages follow the data flow:
``canary.feeds`` -> ``canary.indicators`` -> ``canary.strategies`` -> ``canary.runs``.
"""

__version__ = "0.1.0"
