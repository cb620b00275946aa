-- Every new job wakes the workers of every instance through NOTIFY in its transaction, one per job.
-- Installed by ProcessingQueue; replaced by vi_notify_jobs in QueueThroughputPeers.
CREATE OR REPLACE FUNCTION vi_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('image_jobs', NEW.image_id::text);
    RETURN NEW;
END $$;
