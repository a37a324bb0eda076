// bench-compression: WAN bytes and CPU time of the hub request body's compression, per codec and
// level, on the events of real ORDERS05 IDocs. Reads `outpost parse` output (one CloudEvent JSON
// object per line), forms batches of --batch events the way the HTTP sink does
// (CloudEventBatch.body), and for each codec reports bytes on the wire, the ratio, and the median
// time to compress a batch (agent CPU) and to decompress it (hub CPU).
//
//   bench-compression EVENTS.jsonl [--batch 500] [--rounds 5]
import CloudEventWire
import ContentCoding
import EventModel
import Foundation

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1]) else {
        return fallback
    }
    arguments.removeSubrange(index...(index + 1))
    return value
}
let batchSize = option("--batch", 500)
let rounds = option("--rounds", 5)
guard let path = arguments.first, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
    FileHandle.standardError.write(Data("usage: bench-compression EVENTS.jsonl [--batch 500] [--rounds 5]\n".utf8))
    exit(2)
}
let lines = text.split(separator: "\n").filter { !$0.isEmpty }
let events = lines.enumerated().map { index, line in
    OutboundEvent(sequence: Int64(index + 1), id: "\(index)", partitionKey: "k", json: Array(line.utf8))
}
let batches = stride(from: 0, to: events.count - batchSize + 1, by: batchSize).map {
    CloudEventBatch.body(Array(events[$0..<($0 + batchSize)]))
}
guard !batches.isEmpty else {
    FileHandle.standardError.write(Data("fewer than --batch events in \(path)\n".utf8))
    exit(2)
}
let plainBytes = batches.reduce(0) { $0 + $1.count }

func seconds(_ work: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try work()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

print("\(events.count) events, \(batches.count) batches of \(batchSize), \(plainBytes / batches.count) bytes per batch uncompressed")
print("codec     | bytes/batch | ratio | saved  | compress ms/batch | MB/s in | decompress ms/batch")
print("----------|-------------|-------|--------|-------------------|---------|--------------------")
let codecs: [(String, any ContentCodec)] = [
    ("gzip -1", GzipCodec(level: 1)), ("gzip -6", GzipCodec(level: 6)), ("gzip -9", GzipCodec(level: 9)),
    ("zstd -1", ZstdCodec(level: 1)), ("zstd -3", ZstdCodec(level: 3)), ("zstd -9", ZstdCodec(level: 9)),
]
for (label, codec) in codecs {
    var wire = 0
    var compressTimes: [Double] = [], decompressTimes: [Double] = []
    for round in 0..<rounds {
        var compressed: [[UInt8]] = []
        compressTimes.append(try seconds { compressed = try batches.map { try codec.compress($0) } } / Double(batches.count))
        decompressTimes.append(try seconds {
            for (index, body) in compressed.enumerated() {
                let plain = try body.withUnsafeBytes { try codec.decompress($0, limit: 64 << 20) }
                precondition(plain == batches[index], "round trip changed batch \(index)")
            }
        } / Double(batches.count))
        if round == 0 { wire = compressed.reduce(0) { $0 + $1.count } }
    }
    let ratio = Double(plainBytes) / Double(wire)
    let compressMs = median(compressTimes) * 1000
    let perBatch = plainBytes / batches.count
    print(label.padding(toLength: 9, withPad: " ", startingAt: 0) + String(
        format: " | %11d | %5.1f | %5.1f%% | %17.2f | %7.0f | %19.2f", wire / batches.count, ratio,
        100 * (1 - 1 / ratio), compressMs, Double(perBatch) / 1e6 / median(compressTimes), median(decompressTimes) * 1000))
}
