import Foundation
import OutpostConfig

/// What one agent may take of the hub (`per_agent:`), so one agent in a retry storm cannot
/// starve the others: at most ``limits``' concurrent batches, and events at a token-bucket
/// rate with a burst. A refused batch is answered 429 with `Retry-After`; the agent waits
/// and resends it (it does not try another replica on 429).
final class AgentQuotas: @unchecked Sendable {
    /// Why a batch was refused, and when to send again.
    struct Refusal: Error, Sendable, Equatable {
        var retryAfterSeconds: Int
        var reason: String
    }

    private struct State {
        var inFlight = 0
        /// Events the agent may still send now; negative after a batch larger than what was left.
        var tokens: Double
        var updatedAt: Double
    }

    let limits: HubConfiguration.AgentLimits
    private let clock: @Sendable () -> Double
    private let lock = NSLock()
    private var states: [String: State] = [:]  // guarded by `lock`

    init(limits: HubConfiguration.AgentLimits, clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.limits = limits
        self.clock = clock
    }

    /// Runs `work` when `agentID` has a batch slot free and events left in its bucket, or returns
    /// the refusal at once. `work` returns the batch and the number of events it holds, which
    /// are taken from the bucket (it may go below zero: the next batch then waits for it to refill).
    func admit<T>(_ agentID: String, _ work: () async throws -> (T, events: Int)) async throws -> Result<T, Refusal> {
        let refusal: Refusal? = lock.withLock {
            var state = refilled(agentID)
            defer { states[agentID] = state }
            if state.inFlight >= limits.maxConcurrentBatches {
                return Refusal(
                    retryAfterSeconds: 1,
                    reason: "agent \"\(agentID)\" already has \(limits.maxConcurrentBatches) batches in flight "
                        + "(per_agent.max_concurrent_batches); retry after the Retry-After delay")
            }
            if state.tokens < 1 {
                let wait = max(1, Int(((1 - state.tokens) / limits.eventsPerSecond).rounded(.up)))
                return Refusal(
                    retryAfterSeconds: wait,
                    reason: "agent \"\(agentID)\" sent more than \(Self.format(limits.eventsPerSecond)) events/s "
                        + "(per_agent.events_per_second, burst \(limits.burstEvents)); retry after the Retry-After delay")
            }
            state.inFlight += 1
            return nil
        }
        if let refusal { return .failure(refusal) }
        var charged = 0
        defer {
            lock.withLock {
                var state = refilled(agentID)
                state.inFlight -= 1
                state.tokens -= Double(charged)
                states[agentID] = state
            }
        }
        let (value, events) = try await work()
        charged = events
        return .success(value)
    }

    /// The agent's state with its bucket refilled up to now. Call with `lock` held.
    private func refilled(_ agentID: String) -> State {
        let now = clock()
        guard var state = states[agentID] else {
            return State(tokens: Double(limits.burstEvents), updatedAt: now)
        }
        state.tokens = min(Double(limits.burstEvents), state.tokens + (now - state.updatedAt) * limits.eventsPerSecond)
        state.updatedAt = now
        return state
    }

    private static func format(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(rate)
    }
}
