-- The size of each loaded file (NULL for directories, plans and loads logged before this column).
-- A file whose size no earlier load had cannot be one of them, so ingest can hash it while it
-- parses it instead of first (see etl/load/transaction.py: fingerprint_soon).
ALTER TABLE raw.load_log ADD COLUMN size_bytes BIGINT;
