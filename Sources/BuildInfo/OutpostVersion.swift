/// The version both executables report: `outpost --version` and `outpost-hub --version`, the
/// agent's heartbeats, `/metrics` (`outpost_agent_info`) and logs, and the Debian packages'
/// version (scripts/package-deb.sh reads it from `outpost --version`).
public enum OutpostVersion {
    public static let current = "0.1.0"
}
