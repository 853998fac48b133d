"""Screens of the TUI; they render and delegate to the runtime."""
