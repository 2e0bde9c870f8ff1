namespace Anon.Lab.Conformance;

/// <summary>A case's verdict, in the manner of Autobahn|Testsuite and h2spec.</summary>
public enum Verdict
{
    /// <summary>Behaves as the spec's text says.</summary>
    Ok,

    /// <summary>Works, but departs from the spec's text; the detail says how.</summary>
    Lenient,

    /// <summary>Breaks the spec; the detail gives what was expected and what came.</summary>
    Failed,

    /// <summary>The case cannot be judged here (an input it needs was not given).</summary>
    Unsupported,
}

/// <summary>One case's outcome.</summary>
/// <param name="Name">The case's name, such as <c>gateway.data.segment-size</c>.</param>
/// <param name="Spec">The spec's sentence that the case checks.</param>
/// <param name="Detail">What was seen, in a sentence.</param>
/// <param name="Expected">For a failure: the datagram (or outcome) expected.</param>
/// <param name="Received">For a failure: the one that came.</param>
public sealed record CaseResult(string Name, string Spec, Verdict Verdict, string Detail, string? Expected = null, string? Received = null)
{
    public TimeSpan Duration { get; init; }
}
