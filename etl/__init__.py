"""crowdaudit: audit an image classifier with crowd labels, in a DuckDB warehouse."""

__version__ = "0.1.0"
