"""starchat's REST API served by workbench."""
