-- One NOTIFY per new job. Installed by ProcessingQueue.
CREATE TRIGGER trg_image_processing_jobs_notify AFTER INSERT ON image_processing_jobs
    FOR EACH ROW EXECUTE FUNCTION vi_notify_job();
