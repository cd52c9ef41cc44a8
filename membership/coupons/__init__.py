"""Coupons (优惠券): templates, issuing, redemption at the till, expiry and reports."""
