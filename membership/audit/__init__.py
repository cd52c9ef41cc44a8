"""The audit log: who viewed, exported, adjusted or erased what."""
