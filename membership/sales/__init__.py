"""Sales transactions (purchases and refunds) and what they earn."""
