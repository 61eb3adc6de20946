"""placeholder for the ledger bench (filled in below)."""
