SELECT hit_id, slot, 'image' || slot AS slot_name, image_id
FROM raw.hit_items
