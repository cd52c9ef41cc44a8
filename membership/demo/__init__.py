"""Demo data: a realistic chain with members, cards, purchases, top-ups and redemptions."""
