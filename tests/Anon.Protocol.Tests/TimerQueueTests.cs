namespace Anon.Protocol.Tests;

/// <summary>The endpoint's timer queue: one live entry per owner, deadlines early but never late.</summary>
public class TimerQueueTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void An_owner_is_taken_when_its_deadline_comes_and_not_before()
    {
        var queue = new TimerQueue<string>();
        queue.Arm("a", 10 * Ms);

        Assert.False(queue.TryTakeDue(9 * Ms, out _));
        Assert.True(queue.TryTakeDue(10 * Ms, out string owner));
        Assert.Equal("a", owner);
        Assert.False(queue.TryTakeDue(TimeSpan.MaxValue, out _));
        Assert.Null(queue.NextDeadline);
    }

    [Fact]
    public void Moving_a_deadline_later_keeps_the_entry_which_comes_due_early_for_the_owner_to_rearm()
    {
        var queue = new TimerQueue<string>();
        queue.Arm("a", 10 * Ms);
        queue.Arm("a", 50 * Ms);

        Assert.Equal(10 * Ms, queue.NextDeadline);
        Assert.True(queue.TryTakeDue(10 * Ms, out _)); // early: the owner sees its own deadline is later and re-arms
        queue.Arm("a", 50 * Ms);
        Assert.False(queue.TryTakeDue(49 * Ms, out _));
        Assert.True(queue.TryTakeDue(50 * Ms, out _));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Moving_a_deadline_earlier_makes_the_old_entry_stale()
    {
        var queue = new TimerQueue<string>();
        queue.Arm("a", 50 * Ms);
        queue.Arm("a", 10 * Ms);

        Assert.True(queue.TryTakeDue(10 * Ms, out _));
        Assert.False(queue.TryTakeDue(50 * Ms, out _)); // the 50 ms entry was replaced: taken once, not twice
    }

    [Fact]
    public void A_stale_entry_is_skipped_even_while_its_owner_has_a_live_one()
    {
        var queue = new TimerQueue<string>();
        queue.Arm("a", 50 * Ms);
        queue.Arm("a", 10 * Ms); // the 50 ms entry is now stale
        Assert.True(queue.TryTakeDue(10 * Ms, out _));
        queue.Arm("a", 100 * Ms);

        Assert.False(queue.TryTakeDue(50 * Ms, out _));
        Assert.True(queue.TryTakeDue(100 * Ms, out _));
    }

    [Fact]
    public void A_cancelled_owner_is_never_taken()
    {
        var queue = new TimerQueue<string>();
        queue.Arm("a", 10 * Ms);
        queue.Arm("b", 20 * Ms);
        queue.Cancel("a");

        Assert.Equal((1, 2), (queue.Count, queue.QueuedEntries)); // a's entry stays queued, stale, until it comes due

        Assert.True(queue.TryTakeDue(TimeSpan.MaxValue, out string owner));
        Assert.Equal("b", owner);
        Assert.False(queue.TryTakeDue(TimeSpan.MaxValue, out _));
        Assert.Equal((0, 0), (queue.Count, queue.QueuedEntries));
    }

    [Fact]
    public void Owners_come_in_deadline_order()
    {
        var queue = new TimerQueue<string>();
        queue.Arm("late", 30 * Ms);
        queue.Arm("early", 10 * Ms);
        queue.Arm("middle", 20 * Ms);

        var order = new List<string>();
        while (queue.TryTakeDue(TimeSpan.MaxValue, out string owner))
        {
            order.Add(owner);
        }

        Assert.Equal(["early", "middle", "late"], order);
    }
}
