"""``ghostpen bench``: measured latency, throughput and footprint (see docs/performance.md)."""
