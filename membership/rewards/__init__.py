"""Rewards priced in points (积分商城 / 积分兑换): a catalogue, redemptions on their own and at the till."""
