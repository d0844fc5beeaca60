-- `crowdaudit load regions` changes the language -> region table of a warehouse that exists (the
-- shipped etl/data/language_regions.csv is only copied into a new one); load_id says which load
-- last set a language's region (NULL: the shipped table).
ALTER TABLE raw.language_regions ADD COLUMN load_id BIGINT;
