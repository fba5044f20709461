"""The model catalog, installed as ``app.catalog``: data only (see catalog.json)."""
