using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class ImageProcessingJobConfiguration : IEntityTypeConfiguration<ImageProcessingJob>
{
    public void Configure(EntityTypeBuilder<ImageProcessingJob> b)
    {
        b.ToTable("image_processing_jobs", t =>
        {
            t.HasCheckConstraint("ck_image_processing_jobs_status", "status IN ('pending', 'processing', 'complete', 'failed', 'cancelled')");
            // A job has an owner exactly while it is processing: the claim's fence (owner and attempt)
            // then implies the status without naming it (ClaimStatements.Fence).
            t.HasCheckConstraint("ck_image_processing_jobs_locked", "(status = 'processing') = (locked_by IS NOT NULL)");
        });
        b.Property(j => j.Status).HasDefaultValue(ProcessingStatus.Pending);
        b.Property(j => j.Attempt).HasDefaultValue(0);
        b.Property(j => j.RunAt).HasDefaultValueSql("now()");
        b.Property(j => j.CreatedAt).HasDefaultValueSql("now()");
        b.Property(j => j.UpdatedAt).HasDefaultValueSql("now()");
        b.Property(j => j.LockedBy).HasMaxLength(200);
        b.HasOne<VehicleImage>().WithMany().HasForeignKey(j => j.ImageId).OnDelete(DeleteBehavior.Cascade);
        // One live job per image, whoever enqueues it (trigger, retry, backfill, several instances).
        b.HasIndex(j => j.ImageId).IsUnique().HasDatabaseName("ux_image_processing_jobs_live")
            .HasFilter("status IN ('pending', 'processing')");
        b.Property(j => j.Priority).HasDefaultValue(JobPriority.Upload);
        b.Property(j => j.OutageProvider).HasMaxLength(200);
        b.Property(j => j.TraceParent).HasMaxLength(64);
        // The claim: due pending jobs, new uploads first, then in run_at order.
        b.HasIndex(j => new { j.Priority, j.RunAt, j.Id }).HasDatabaseName("ix_image_processing_jobs_due")
            .HasFilter("status = 'pending'");
        // The rescuer: claims whose lease ran out.
        b.HasIndex(j => j.LeaseUntil).HasDatabaseName("ix_image_processing_jobs_lease")
            .HasFilter("status = 'processing'");
        // A photo's jobs (the status trigger's attempt count, the cascade when a photo goes). Completed
        // jobs are not here: the completion deletes them (ADR 017).
        // Pruning has no index of its own: one more entry per completed job for a chore every ten
        // minutes was not worth it; it reads the table in heap order, oldest first (ADR 013).
        b.HasIndex(j => new { j.ImageId, j.Id });
    }
}

internal sealed class ImageProcessingAttemptConfiguration : IEntityTypeConfiguration<ImageProcessingAttempt>
{
    public void Configure(EntityTypeBuilder<ImageProcessingAttempt> b)
    {
        b.ToTable("image_processing_attempts");
        b.Property(a => a.Outcome).HasMaxLength(20);
        b.Property(a => a.Provider).HasMaxLength(200);
        b.Property(a => a.Model).HasMaxLength(200);
        // No foreign key to vehicle_images: its check (a key-share lookup per history row) was a measurable
        // part of every completion; a photo's deletion removes its history by trigger instead (ADR 015).
        b.HasIndex(a => new { a.ImageId, a.Id });
        // Completed jobs live here (ADR 017): the explorer's complete listing and the reports read a recent
        // window of finished_at. A BRIN index (rows arrive in finished_at order) costs an insert next to
        // nothing, where a B-tree would add an entry per attempt.
        b.HasIndex(a => a.FinishedAt).HasDatabaseName("ix_image_processing_attempts_finished").HasMethod("brin");
    }
}

internal sealed class ProcessingControlConfiguration : IEntityTypeConfiguration<ProcessingControl>
{
    public void Configure(EntityTypeBuilder<ProcessingControl> b)
    {
        b.ToTable("processing_control", t => t.HasCheckConstraint("ck_processing_control_single_row", "id = 1"));
        b.Property(c => c.Id).ValueGeneratedNever();
        b.Property(c => c.UpdatedAt).HasDefaultValueSql("now()");
        b.HasData(new ProcessingControl { Id = 1, Paused = false, UpdatedAt = DateTimeOffset.UnixEpoch });
    }
}

internal sealed class AnalysisProviderStateConfiguration : IEntityTypeConfiguration<AnalysisProviderState>
{
    public void Configure(EntityTypeBuilder<AnalysisProviderState> b)
    {
        b.ToTable("analysis_providers", t => t.HasCheckConstraint("ck_analysis_providers_state", "state IN ('available', 'unavailable')"));
        b.HasKey(p => p.Name);
        b.Property(p => p.Name).HasMaxLength(200);
        b.Property(p => p.Model).HasMaxLength(200);
        b.Property(p => p.State).HasMaxLength(20);
        b.Property(p => p.Since).HasDefaultValueSql("now()");
        b.Property(p => p.NextProbeAt).HasDefaultValueSql("now()");
        b.Property(p => p.UpdatedAt).HasDefaultValueSql("now()");
    }
}
