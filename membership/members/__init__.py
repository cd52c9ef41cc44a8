"""Members (会员), their personal data and their credentials (cards, QR codes, phone, openid)."""
