SELECT image_id, language, region, word, path
FROM staging.stg_images
