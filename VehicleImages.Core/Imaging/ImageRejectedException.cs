namespace VehicleImages.Core.Imaging;

/// <summary>A file we will not keep, with a reason the person who uploaded it can act on.</summary>
public sealed class ImageRejectedException(string reason, Exception? inner = null) : Exception(reason, inner);
