-- New jobs wake the claimers once per statement, with one payload: PostgreSQL delivers identical
-- notifications of one transaction once, so enqueueing 10,000 photos sends one NOTIFY instead of
-- 10,000 (each parsed by every instance's listener). Nobody read the image id the row trigger sent.
-- Installed by QueueThroughputPeers.
CREATE OR REPLACE FUNCTION vi_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('image_jobs', 'new');
    RETURN NULL;
END $$;
