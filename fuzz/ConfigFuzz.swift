import OutpostConfig

/// libFuzzer entry: any text as an agent and as a hub configuration file. Problems are a
/// normal answer (`ConfigError`); a crash is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try ConfigLoader.loadAgent(yaml: text, fileName: "fuzz.yaml")
    } catch {
        precondition(!error.description.isEmpty, "a ConfigError without a description")
    }
    do {
        _ = try ConfigLoader.loadHub(yaml: text, fileName: "fuzz.yaml")
    } catch {
        precondition(!error.description.isEmpty, "a ConfigError without a description")
    }
    return 0
}
