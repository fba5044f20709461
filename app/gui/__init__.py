"""Ghostpen's Qt user interface: thin widgets over the headless core."""
