"""Desktop resources, installed as ``app.resources``: data only (icon, desktop files, themes)."""
