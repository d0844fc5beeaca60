-- Images with their region: the manifest's when it gave one, else the language->region table.
SELECT
    i.image_id,
    i.path,
    i.language,
    i.word,
    coalesce(i.region, r.region, 'unknown') AS region
FROM raw.images AS i
LEFT JOIN raw.language_regions AS r ON r.language = lower(i.language)
