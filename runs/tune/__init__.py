"""`canary tune`: the search space, screening every trial once, and judging the pick out of sample
(walk-forward, CSCV, the deflated Sharpe ratio, Hansen's SPA test), with its report."""
