using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml.Linq;

namespace Anon.Lab.Conformance;

/// <summary>The suite's reports: a table for the terminal, JSON, and JUnit XML for a CI or a course to gate on.</summary>
public static class Report
{
    public static void WriteTable(TextWriter output, string title, IReadOnlyList<CaseResult> results)
    {
        output.WriteLine(title);
        int width = results.Max(result => result.Name.Length);
        foreach (CaseResult result in results)
        {
            output.WriteLine($"  {result.Name.PadRight(width)}  {Word(result.Verdict),-11}  {result.Detail}");
            if (result.Verdict == Verdict.Failed && (result.Expected is not null || result.Received is not null))
            {
                output.WriteLine($"  {"".PadRight(width)}  {"",-11}  expected: {result.Expected}; received: {result.Received}");
            }
        }

        output.WriteLine($"{results.Count} {(results.Count == 1 ? "case" : "cases")}: " + string.Join(", ",
            Enum.GetValues<Verdict>().Select(verdict => $"{results.Count(result => result.Verdict == verdict)} {Word(verdict)}")));
    }

    public static string Word(Verdict verdict) => verdict switch
    {
        Verdict.Ok => "OK",
        Verdict.Lenient => "LENIENT",
        Verdict.Failed => "FAILED",
        _ => "UNSUPPORTED",
    };

    public static void WriteJson(string path, string target, IReadOnlyList<CaseResult> results)
    {
        var report = new JsonReport(target, [.. results.Select(result => new JsonCase(
            result.Name, Word(result.Verdict), result.Detail, result.Expected, result.Received, result.Spec, Math.Round(result.Duration.TotalSeconds, 3)))]);
        File.WriteAllText(path, JsonSerializer.Serialize(report, JsonContext.JsonReport));
    }

    public static void WriteJUnit(string path, string suite, IReadOnlyList<CaseResult> results)
    {
        var document = new XDocument(new XElement("testsuites",
            new XElement("testsuite",
                new XAttribute("name", suite),
                new XAttribute("tests", results.Count),
                new XAttribute("failures", results.Count(result => result.Verdict == Verdict.Failed)),
                new XAttribute("skipped", results.Count(result => result.Verdict == Verdict.Unsupported)),
                new XAttribute("time", results.Sum(result => result.Duration.TotalSeconds).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)),
                results.Select(result => new XElement("testcase",
                    new XAttribute("classname", suite),
                    new XAttribute("name", result.Name),
                    new XAttribute("time", result.Duration.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)),
                    result.Verdict switch
                    {
                        Verdict.Failed => new XElement("failure", new XAttribute("message", result.Detail), $"expected: {result.Expected}\nreceived: {result.Received}\nspec: {result.Spec}"),
                        Verdict.Unsupported => new XElement("skipped", new XAttribute("message", result.Detail)),
                        _ => new XElement("system-out", $"{Word(result.Verdict)}: {result.Detail}"),
                    })))));
        document.Save(path);
    }

    /// <summary>Source-generated, so that the Native AOT build writes the report without reflection.</summary>
    private static readonly ReportJsonContext JsonContext = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>The JSON report: the target and each case's verdict.</summary>
internal sealed record JsonReport(string Target, IReadOnlyList<JsonCase> Cases);

internal sealed record JsonCase(string Name, string Verdict, string Detail, string? Expected, string? Received, string Spec, double Seconds);

[JsonSerializable(typeof(JsonReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
