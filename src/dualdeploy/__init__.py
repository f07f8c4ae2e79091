"""Dual Deploy Guard: code merged to main must reach production, manual deploys included."""

__version__ = "0.1.0"
