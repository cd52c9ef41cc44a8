"""Tiers and growth: which tier a member holds and what it gives."""
