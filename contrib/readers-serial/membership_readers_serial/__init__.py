"""Serial card-reader drivers for membership (读卡器驱动), registered through the reader-devices hook."""

__version__ = "0.1.0"
