using Microsoft.Extensions.Logging;

namespace VehicleImages.Tests.TestHost;

/// <summary>
/// The app's errors during tests go to TestResults/artifacts/app-errors.log: a failing test's 500
/// then comes with the server's side of the story.
/// </summary>
public sealed class ErrorFileLoggerProvider : ILoggerProvider
{
    private static readonly Lock Gate = new();
    private static readonly string Path = System.IO.Path.Combine(RepoPaths.Artifacts, "app-errors.log");

    public ILogger CreateLogger(string categoryName) => new ErrorFileLogger(categoryName);

    public void Dispose()
    {
    }

    private sealed class ErrorFileLogger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            lock (Gate)
                File.AppendAllText(Path, $"{DateTimeOffset.UtcNow:O} {logLevel} {category}: {formatter(state, exception)}\n{exception}\n\n");
        }
    }
}
