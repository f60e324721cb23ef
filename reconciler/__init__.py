"""reconciler: configuration as code for SMS messaging accounts."""

__version__ = "0.1.0"
