namespace VehicleImages.Rig;

public static class RepoPaths
{
    /// <summary>The repository root: the folder holding VehicleImages.sln above the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>../shared/testdata beside the repository; tests that need it fail saying so when it is absent.</summary>
    public static string TestData => Path.GetFullPath(Path.Combine(Root, "..", "shared", "testdata"));

    /// <summary>Where tests leave what a person may want to look at (screenshots).</summary>
    public static string Artifacts { get; } = Directory.CreateDirectory(Path.Combine(Root, "TestResults", "artifacts")).FullName;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VehicleImages.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"VehicleImages.sln not found above {AppContext.BaseDirectory}");
    }
}
