-- One NOTIFY per inserting statement. Installed by QueueThroughputPeers.
CREATE TRIGGER trg_image_processing_jobs_notify AFTER INSERT ON image_processing_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION vi_notify_jobs();
