"""Gift cards (礼品卡): bearer cards of a program, sold as a product at the till and spent as a
payment at any of its stores."""
