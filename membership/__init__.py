"""membership: a plugin-based membership (会员管理) framework."""

__version__ = "0.1.0"

from membership.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
