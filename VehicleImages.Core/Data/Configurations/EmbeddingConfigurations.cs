using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Embeddings;
using VehicleImages.Core.Images;
using VehicleImages.Core.Vehicles;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class ImageEmbeddingConfiguration : IEntityTypeConfiguration<ImageEmbedding>
{
    public void Configure(EntityTypeBuilder<ImageEmbedding> b)
    {
        b.ToTable("image_embeddings");
        b.HasKey(e => e.ImageId);
        b.Property(e => e.Vector).HasColumnType("real[]");
        b.Property(e => e.Model).HasMaxLength(60);
        b.Property(e => e.ComputedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithOne().HasForeignKey<ImageEmbedding>(e => e.ImageId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ImageStackConfiguration : IEntityTypeConfiguration<ImageStack>
{
    public void Configure(EntityTypeBuilder<ImageStack> b)
    {
        b.ToTable("image_stacks");
        b.Property(s => s.Id).HasDefaultValueSql("gen_random_uuid()");
        b.Property(s => s.CreatedAt).HasDefaultValueSql("now()");
        b.HasOne<Vehicle>().WithMany().HasForeignKey(s => s.VehicleId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<VehicleImage>().WithMany().HasForeignKey(s => s.PickedImageId).OnDelete(DeleteBehavior.SetNull);
        b.HasIndex(s => s.VehicleId);
    }
}

internal sealed class ImageStackMemberConfiguration : IEntityTypeConfiguration<ImageStackMember>
{
    public void Configure(EntityTypeBuilder<ImageStackMember> b)
    {
        b.ToTable("image_stack_members", t =>
            t.HasCheckConstraint("ck_image_stack_members_alone", "NOT (stands_alone AND stack_id IS NOT NULL)"));
        b.HasKey(m => m.ImageId);
        b.Property(m => m.StandsAlone).HasDefaultValue(false);
        b.Property(m => m.UpdatedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithOne().HasForeignKey<ImageStackMember>(m => m.ImageId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<ImageStack>().WithMany().HasForeignKey(m => m.StackId).OnDelete(DeleteBehavior.SetNull);
        b.HasIndex(m => m.StackId);
    }
}

internal sealed class ImageSuggestionConfiguration : IEntityTypeConfiguration<ImageSuggestion>
{
    public void Configure(EntityTypeBuilder<ImageSuggestion> b)
    {
        b.ToTable("image_suggestions", t => t.HasCheckConstraint("ck_image_suggestions_confidence", "confidence BETWEEN 0 AND 1"));
        b.HasKey(s => s.ImageId);
        b.Property(s => s.Category).HasMaxLength(40);
        b.Property(s => s.Angle).HasMaxLength(40);
        b.Property(s => s.UpdatedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithOne().HasForeignKey<ImageSuggestion>(s => s.ImageId).OnDelete(DeleteBehavior.Cascade);
    }
}
