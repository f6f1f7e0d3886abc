"""Following the signal forward: `canary now` (what it says today) and `canary paper` (a forward test
kept in a ledger)."""
