-- Installed by ProcessingQueue.
CREATE TRIGGER trg_vehicle_images_enqueue AFTER INSERT ON vehicle_images
    FOR EACH ROW WHEN (NEW.processing_status = 'pending') EXECUTE FUNCTION vi_enqueue_image();
