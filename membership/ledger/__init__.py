"""The double-entry ledger: points (in lots), points debt, stored value and growth."""
