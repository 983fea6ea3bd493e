"""apc: sequence-aware playlist continuation and next-track recommendation."""
__version__ = "0.1.0"
