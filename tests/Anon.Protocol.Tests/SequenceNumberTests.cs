using CsCheck;

namespace Anon.Protocol.Tests;

public class SequenceNumberTests
{
    [Fact]
    public void Addition_wraps_past_two_to_the_32()
    {
        var nearTop = new SequenceNumber(uint.MaxValue - 1);

        Assert.Equal(new SequenceNumber(510), nearTop + 512);
        Assert.Equal(512, (nearTop + 512) - nearTop);
        Assert.True(nearTop + 512 > nearTop);
    }

    [Fact]
    public void Distance_and_order_agree_for_any_pair_less_than_two_to_the_31_apart()
    {
        Gen.Select(Gen.UInt, Gen.Int[-int.MaxValue, int.MaxValue]).Sample((start, step) =>
        {
            var a = new SequenceNumber(start);
            SequenceNumber b = a + step;
            return b - a == step
                && (b > a) == (step > 0)
                && (b < a) == (step < 0)
                && (b >= a) == (step >= 0)
                && b - step == a;
        });
    }

    [Fact]
    public void Formats_as_an_unsigned_decimal()
    {
        Assert.Equal("4294967295", new SequenceNumber(uint.MaxValue).ToString());
    }
}
