"""Notification channels (SMS, e-mail, WeChat, webhook) and sending through them."""
