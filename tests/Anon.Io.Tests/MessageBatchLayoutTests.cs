namespace Anon.Io.Tests;

/// <summary>
/// The structs handed to recvmmsg/sendmmsg have the kernel's layout. The 64-bit figures are those
/// of &lt;sys/socket.h&gt; on x86-64 and aarch64 alike; the ARM group runs the batched gateway under
/// arm64 emulation, where a wrong layout would lose every datagram.
/// </summary>
public class MessageBatchLayoutTests
{
    [SkippableFact]
    public void The_batched_socket_structs_have_the_64_bit_kernel_layout()
    {
        Skip.IfNot(Environment.Is64BitProcess, "the 32-bit layout (iovec 8, msghdr 28, mmsghdr 32) is written beside the structs; this machine is 32-bit");

        Assert.Equal((16, 56, 64), MessageBatch.Layout);
    }
}
