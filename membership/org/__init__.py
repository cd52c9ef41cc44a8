"""Merchants, their stores and their membership programs."""
