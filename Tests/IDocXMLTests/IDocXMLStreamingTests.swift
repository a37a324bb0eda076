import EventModel
import Foundation
import IDocXML
import Testing

@Suite("IDoc XML codec: streaming and concurrency")
struct IDocXMLStreamingTests {
    @Test("20,000 IDocs streamed through a pipe are all counted, in order")
    func largeInputThroughPipe() throws {
        let count = 20_000
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        let writer = Thread {
            IDocXMLStreamingTests.writeAll(Array((XMLFixture.declaration + "<ORDERS05>\n").utf8), to: writeEnd)
            var batch: [UInt8] = []
            for index in 0..<count {
                batch += Array((XMLFixture.idoc(docnum: String(index), segments: XMLFixture.typicalSegments) + "\n").utf8)
                if batch.count > 1 << 20 {
                    IDocXMLStreamingTests.writeAll(batch, to: writeEnd)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            IDocXMLStreamingTests.writeAll(batch + Array("</ORDERS05>\n".utf8), to: writeEnd)
            close(writeEnd)
        }
        writer.start()
        var seen = 0
        var inOrder = true
        var largest = 0
        var rejection: DocumentRejection?
        do {
            try IDocXMLCodec().decode(.fileDescriptor(readEnd), limits: .default) { record in
                inOrder = inOrder && record.ordinal == seen && record.control?.docnum == String(seen)
                largest = max(largest, record.data.count)
                seen += 1
            }
        } catch let error as DocumentRejection {
            rejection = error
        }
        IDocXMLStreamingTests.drain(readEnd)
        close(readEnd)
        #expect(rejection == nil)
        #expect(seen == count)
        #expect(inOrder)
        #expect(largest > 2000 && largest < 3000, "each record holds one IDoc of about 2.25 KB, got \(largest)")
    }

    @Test("several threads decode at once, each with its own errors")
    func parallelDecoding() {
        let good = Array(XMLFixture.file(idocs: (0..<200).map { XMLFixture.idoc(docnum: String($0)) }).utf8)
        let broken = Array(String(decoding: good, as: UTF8.self).prefix(good.count / 2).utf8)
        let results = ResultBox(count: 8)
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let input = index.isMultiple(of: 2) ? good : broken
            let outcome = XMLDecoding.decode(.bytes(input))
            results.set(index, outcome.rejection?.code.rawValue ?? "ok:\(outcome.documents.count)")
        }
        for index in 0..<8 {
            #expect(results.get(index) == (index.isMultiple(of: 2) ? "ok:200" : "truncated"))
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    private static func drain(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while read(fd, &scratch, scratch.count) > 0 {}
    }
}

/// Results written by concurrent workers, one slot each.
private final class ResultBox: @unchecked Sendable {
    private var values: [String]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: "", count: count) }
    func set(_ index: Int, _ value: String) { lock.withLock { values[index] = value } }
    func get(_ index: Int) -> String { lock.withLock { values[index] } }
}
