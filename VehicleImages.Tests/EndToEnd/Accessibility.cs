using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>axe-core's WCAG 2.1 A and AA rules run in the page as it stands (issue 30).</summary>
public static class Accessibility
{
    private static readonly AxeRunOptions Wcag21AA = new()
    {
        RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    };

    /// <summary>
    /// Fails listing every violation: the rule, its impact and the elements it found (their CSS targets and a
    /// start of their markup). <paramref name="exclude"/> leaves out elements another issue owns; each caller says why.
    /// </summary>
    public static async Task AssertNoViolationsAsync(IPage page, string where, params string[] exclude)
    {
        var result = exclude.Length == 0
            ? await page.RunAxe(Wcag21AA)
            : await page.RunAxe(new AxeRunContext { Exclude = [.. exclude.Select(s => new AxeSelector(s))] }, Wcag21AA);
        if (result.Violations.Length == 0)
            return;
        var lines = result.Violations.SelectMany(v => v.Nodes.Select(n =>
            $"  {v.Id} ({v.Impact}): {n.Target} {Shorten(n.Html)}{Why(n)}"));
        Assert.Fail($"axe-core found {result.Violations.Sum(v => v.Nodes.Length)} violation(s) on {where} ({page.Url}):\n{string.Join("\n", lines)}");
    }

    private static string Shorten(string html) => html.Length <= 160 ? html : html[..160] + "…";

    // What the failed checks say, e.g. "insufficient color contrast of 3.1 (foreground color: #ffffff, ...)".
    private static string Why(AxeResultNode node)
    {
        var messages = (node.Any ?? []).Concat(node.All ?? []).Concat(node.None ?? []).Select(c => c.Message).Where(m => !string.IsNullOrEmpty(m)).Distinct();
        var why = string.Join("; ", messages);
        return why.Length == 0 ? "" : " — " + why;
    }
}
