"""crowdaudit: audit an image classifier with crowd labels, in a DuckDB warehouse."""

import os

__version__ = "0.1.0"

# polars' allocator (jemalloc, configured by this variable) soon hands freed memory back to the
# kernel, so each step of a large ingest faults the same gigabytes in again: a quarter of a 1 GB
# file's CPU time went to the kernel (5 of 20.6 CPU-s). Keeping freed pages for 30 s lets
# the next step reuse them (ingest of 1M assignments: 11.6 s -> 10.1 s). It has to be set before
# polars is first imported, and a value the user set wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:30000,muzzy_decay_ms:30000")
