using Anon.Fuzz;
using SharpFuzz;

// anon-fuzz TARGET              run under afl-fuzz (SharpFuzz's AFL mode)
// anon-fuzz TARGET --libfuzzer  run under libfuzzer-dotnet
// anon-fuzz TARGET FILE...      replay inputs, such as a crash the fuzzer saved
ReadOnlySpanAction target = args.Length > 0 ? args[0] switch
{
    "header" => Targets.Header,
    "gateway" => Targets.Gateway,
    "client" => Targets.Client,
    _ => null!,
} : null!;
if (target is null)
{
    Console.Error.WriteLine("usage: anon-fuzz header|gateway|client [--libfuzzer | FILE...]");
    return 64;
}

if (args.Length > 1 && args[1] == "--libfuzzer")
{
    Fuzzer.LibFuzzer.Run(target);
}
else if (args.Length > 1)
{
    foreach (string file in args[1..])
    {
        target(File.ReadAllBytes(file));
        Console.WriteLine($"{file}: no invariant broken");
    }
}
else
{
    Fuzzer.Run(stream =>
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        target(memory.ToArray());
    });
}

return 0;
