"""The Textual app: screens render runtime events and call runtime methods."""
