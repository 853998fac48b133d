"""The runtime: moves people through worlds, runs agents and engines, commits every turn."""
