"""The kernel's default behaviour, registered as plugins exactly like third-party ones.

Every implementation here is ``trylast``: a pack implementing the same hook answers first.
"""
