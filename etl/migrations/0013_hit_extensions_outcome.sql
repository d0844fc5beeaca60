-- raw.hit_extensions.outcome was written into migration 0009 after 0009 had shipped (commit 456250f),
-- so a warehouse that took 0009 before then never got the column, and `hits extend` failed on it:
-- its plan is inserted with a value for every column of today's table. Added here where missing.
-- Before the column existed an extension was only ever settled by the platform adding its
-- assignments, so those settled then were added.
ALTER TABLE raw.hit_extensions ADD COLUMN IF NOT EXISTS outcome VARCHAR;
UPDATE raw.hit_extensions SET outcome = 'added' WHERE done_at IS NOT NULL AND outcome IS NULL;
