"""The command line (Typer). Rich rendering lives here, never in the runtime."""
