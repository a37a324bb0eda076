/// The version this build reports in heartbeats, `/metrics` (`outpost_agent_info`) and logs.
public enum OutpostVersion {
    public static let current = "0.1.0"
}
