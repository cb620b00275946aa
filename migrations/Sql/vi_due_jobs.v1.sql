-- The claim's choice of due jobs (JobQueue.ClaimAsync): most urgent first, locked ones skipped, and not
-- those of an owner who has had calls_per_day provider calls answered today (0: no quota). It runs with
-- bitmap scans and sorts off: on a job table without fresh statistics (a new install, a burst of uploads
-- or a backfill before autovacuum analyzes) the planner estimated a handful of pending jobs and read and
-- sorted every one of them on every claim (7-8 ms at 10,000 pending), where the ix_image_processing_jobs_due
-- index read in order stops after n (0.3-0.6 ms). plpgsql, so its plan is prepared once per connection.
-- ROWS 1 tells the caller's planner the set is small, so it looks the claimed jobs and photos up by
-- primary key instead of hashing whole-table scans. Installed by QueueFourthPass (ADR 017).
CREATE OR REPLACE FUNCTION vi_due_jobs(n int, calls_per_day int) RETURNS SETOF bigint LANGUAGE plpgsql
    SET enable_bitmapscan = off SET enable_sort = off ROWS 1 AS $$
BEGIN
    RETURN QUERY
    SELECT j.id FROM image_processing_jobs j
    WHERE j.status = 'pending' AND j.run_at <= now()
      AND NOT (SELECT c.paused FROM processing_control c WHERE c.id = 1)
      AND (calls_per_day <= 0 OR NOT EXISTS (
            SELECT 1 FROM vehicle_images v JOIN user_daily_usage u ON u.user_id = v.user_id AND u.day = (now() AT TIME ZONE 'UTC')::date
            WHERE v.id = j.image_id AND u.provider_calls >= calls_per_day))
    ORDER BY j.priority, j.run_at, j.id
    FOR UPDATE OF j SKIP LOCKED
    LIMIT n;
END $$;
