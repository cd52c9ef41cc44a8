"""{{ cookiecutter.description }} — a plugin for membership (会员管理)."""

__version__ = "0.1.0"
