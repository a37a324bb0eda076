/// Everything wrong with a hub configuration file, each problem naming the key and the fix.
struct HubConfigFileError: Error, CustomStringConvertible {
    let file: String
    let problems: [String]

    var description: String {
        problems.map { "\(file): \($0)" }.joined(separator: "\n")
    }
}
