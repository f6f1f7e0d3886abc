"""`canary study`: the research note's claim as an event study, its statistics and its report."""
