-- A HIT type row per batch. Two batches of one design share a HIT type (MTurk gives the same
-- properties the same id), and the row keyed by (hit_type_id, target) alone was written for the
-- first batch only. The second batch then had no row before its first HIT was recorded, so a
-- publish killed between its first CreateHIT and that record left its target unpinned (a re-run
-- could publish it again elsewhere), and `hits extend` read it as not asking for Masters (its
-- 5% fee left out of the price checked against --budget).
CREATE TABLE raw.hit_types_per_batch (
    hit_type_id                 VARCHAR NOT NULL,
    target                      VARCHAR NOT NULL,    -- sandbox | live | an endpoint URL
    batch_id                    VARCHAR NOT NULL,
    qualification_requirements  VARCHAR NOT NULL,
    created_at                  TIMESTAMP NOT NULL,
    PRIMARY KEY (hit_type_id, target, batch_id)
);
INSERT INTO raw.hit_types_per_batch SELECT * FROM raw.hit_types;
-- The batches published under a HIT type another batch created: their row, from the publish log.
INSERT INTO raw.hit_types_per_batch
SELECT p.hit_type_id, p.target, p.batch_id, any_value(t.qualification_requirements), min(p.published_at)
FROM raw.publish_log AS p
JOIN raw.hit_types AS t USING (hit_type_id, target)
WHERE NOT EXISTS (SELECT 1 FROM raw.hit_types AS k
                  WHERE k.hit_type_id = p.hit_type_id AND k.target = p.target AND k.batch_id = p.batch_id)
GROUP BY p.hit_type_id, p.target, p.batch_id;
DROP TABLE raw.hit_types;
ALTER TABLE raw.hit_types_per_batch RENAME TO hit_types;
