SELECT * FROM main.worker_gold_accuracy WHERE gold_correct > gold_answered OR accuracy NOT BETWEEN 0 AND 1
