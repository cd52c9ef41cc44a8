"""membership: a plugin-based membership (会员管理) framework."""

__version__ = "0.1.0"
