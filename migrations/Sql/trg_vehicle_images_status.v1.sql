-- The status triggers, one event per row. Installed by ProcessingQueue; replaced by v2 in QueueThroughput.
CREATE TRIGGER trg_vehicle_images_status_insert AFTER INSERT ON vehicle_images
    FOR EACH ROW EXECUTE FUNCTION vi_notify_image_status();
CREATE TRIGGER trg_vehicle_images_status_update AFTER UPDATE OF processing_status ON vehicle_images
    FOR EACH ROW WHEN (OLD.processing_status IS DISTINCT FROM NEW.processing_status)
    EXECUTE FUNCTION vi_notify_image_status();
