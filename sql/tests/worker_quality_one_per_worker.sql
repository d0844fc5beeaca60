-- worker_quality: one row per voting worker, gold counts consistent
SELECT worker_id FROM main.worker_quality GROUP BY worker_id HAVING count(*) > 1
UNION ALL
SELECT worker_id FROM (SELECT DISTINCT worker_id FROM main.votes) ANTI JOIN main.worker_quality USING (worker_id)
UNION ALL
SELECT worker_id FROM main.worker_quality
WHERE gold_correct > gold_answered OR gold_pos + gold_neg <> gold_answered OR n_yes > n_votes
