"""Example apc plugin: one model class and an ``apc.models`` entry point."""

from apc_example_plugin.model import CoOccurrence

__all__ = ["CoOccurrence"]
