using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace VehicleImages.Tests.TestHost;

/// <summary>
/// Keeps every entry the app logs after the app's own filters (appsettings.json and code), so a
/// test can say what an operator would see. Register it as an <see cref="ILoggerProvider"/>.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    public sealed record Entry(LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception)
    {
        public override string ToString() => $"{Level} {Category}[{EventId.Id}]: {Message} {Exception?.GetType().Name}";
    }

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue(new Entry(logLevel, category, eventId, formatter(state, exception), exception));
    }
}
