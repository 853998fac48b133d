"""Reading what comes from outside: task files and untrusted input, always bounded."""
