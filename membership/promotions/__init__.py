"""Promotions at the till (促销活动): automatic discounts with conditions, chosen best for the customer."""
