"""Card readers: the driver interface serial readers implement (drivers live in contrib/)."""
