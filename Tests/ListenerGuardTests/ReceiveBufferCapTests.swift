import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import ListenerGuard

/// What a server connection was handed to read, over real loopback sockets.
private final class ReadRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let capacities = Mutex<[Int]>([])
    let bytes = Mutex(0)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        capacities.withLock { $0.append(buffer.capacity) }
        bytes.withLock { $0 += buffer.readableBytes }
    }
}

@Suite("Receive buffer cap")
struct ReceiveBufferCapTests {
    /// Sends `size` bytes to a loopback server whose connections get `handlers` first; returns
    /// the capacity of every buffer the server read into.
    static func readCapacities(size: Int, cap: Int?) async throws -> [Int] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let recorder = ReadRecorder()
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let cap { try channel.pipeline.syncOperations.addHandler(ReceiveBufferCap(maximum: cap)) }
                    try channel.pipeline.syncOperations.addHandler(recorder)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try await ClientBootstrap(group: group).connect(to: server.localAddress!).get()
        // In pieces, each written as the previous one leaves, so reads keep finding full buffers.
        var left = size
        while left > 0 {
            let piece = min(left, 256 << 10)
            try await client.writeAndFlush(ByteBuffer(repeating: 0x61, count: piece)).get()
            left -= piece
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while recorder.bytes.withLock({ $0 }) < size, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(recorder.bytes.withLock { $0 } == size)
        try await client.close()
        try await server.close()
        try await group.shutdownGracefully()
        return recorder.capacities.withLock { $0 }
    }

    @Test("a connection reads a 4 MiB body into buffers of at most the cap; without it they grow past it")
    func readsStayWithinTheCap() async throws {
        let capped = try await Self.readCapacities(size: 4 << 20, cap: 16 << 10)
        #expect(!capped.isEmpty)
        #expect(capped.allSatisfy { $0 <= 16 << 10 }, "largest read buffer \(capped.max() ?? 0) bytes")
        // The control: NIO's default grows the buffer (to 64 KiB), which is what the cap prevents.
        let uncapped = try await Self.readCapacities(size: 4 << 20, cap: nil)
        #expect(uncapped.contains { $0 > 16 << 10 }, "largest read buffer \(uncapped.max() ?? 0) bytes")
    }
}
