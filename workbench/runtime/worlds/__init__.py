"""Worlds: who talks, in what order. Base classes for Python worlds, ParlAI-compatible.

A world written for ParlAI's chat services ports by changing its imports to::

    from workbench import World, OnboardWorld

Its ``parley()`` may stay synchronous (it then runs in a worker thread and
its agents' ``act()`` blocks) or become ``async def`` (no thread at all).
"""

from workbench.runtime.worlds.base import EXIT, OnboardWorld, World

__all__ = ["EXIT", "OnboardWorld", "World"]
