namespace VehicleImages.Web.Components.Share;

/// <summary>What a share page shows: the photos, the password form, or the one "does not work" page for every bad token.</summary>
public enum SharePageMode { Gallery, Password, NotFound }
