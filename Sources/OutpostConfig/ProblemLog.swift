import Yams

/// Collects the problems found while reading one file, so validation reports all of them at once.
final class ProblemLog {
    private(set) var problems: [ConfigProblem] = []

    var isEmpty: Bool { problems.isEmpty }

    /// Records a problem at `keyPath`, taking the line from `node` when there is one.
    func report(_ keyPath: String, at node: Node?, _ message: String, fix: String) {
        problems.append(ConfigProblem(keyPath: keyPath, line: node?.mark?.line, message: message, fix: fix))
    }
}
