"""The local stack: configuration and the launcher that starts, checks and stops it."""
