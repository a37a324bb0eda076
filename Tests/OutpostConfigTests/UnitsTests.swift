import Testing

@testable import OutpostConfig

@Suite("Sizes and durations")
struct UnitsTests {
    @Test(
        "sizes in binary units or plain bytes",
        arguments: [
            ("0", 0), ("1048576", 1_048_576), ("1B", 1), ("1KiB", 1024), ("256MiB", 268_435_456),
            ("1GiB", 1_073_741_824), ("2TiB", 2_199_023_255_552), ("1.5GiB", 1_610_612_736), ("512 KiB", 524_288),
            ("0.5KiB", 512),
        ] as [(String, Int64)])
    func validSizes(text: String, bytes: Int64) throws {
        #expect(try Units.parseSize(text) == bytes)
    }

    @Test("sizes that are refused", arguments: ["", "MiB", "-1MiB", "1.5", "1.3B", "4 bananas", "1..5MiB", "1e3", "9999999TiB"])
    func invalidSizes(text: String) {
        #expect(throws: Units.ParseError.self) { try Units.parseSize(text) }
    }

    @Test("decimal units are refused with the binary unit to use instead")
    func decimalUnitsSuggestBinary() {
        #expect {
            try Units.parseSize("4MB")
        } throws: { error in
            let error = error as? Units.ParseError
            return error?.message == "'4MB' uses the decimal unit MB, which is not accepted"
                && error?.fix.hasPrefix("write 4MiB") == true
        }
        #expect {
            try Units.parseSize("4 bananas")
        } throws: { error in
            (error as? Units.ParseError)?.fix.contains("B, KiB, MiB, GiB or TiB") == true
        }
    }

    @Test(
        "durations with a unit",
        arguments: [
            ("500ms", 0.5), ("0s", 0), ("2s", 2), ("1.5s", 1.5), ("5m", 300), ("24h", 86_400), ("7d", 604_800),
            ("10 s", 10),
        ] as [(String, Double)])
    func validDurations(text: String, seconds: Double) throws {
        #expect(try Units.parseDuration(text) == seconds)
    }

    @Test("durations that are refused", arguments: ["", "s", "-2s", "2S", "1w", "2 seconds", ".5s", "5."])
    func invalidDurations(text: String) {
        #expect(throws: Units.ParseError.self) { try Units.parseDuration(text) }
    }

    @Test("a number without a unit asks for one; an unknown unit lists the accepted ones")
    func durationMessages() {
        #expect {
            try Units.parseDuration("2")
        } throws: { error in
            (error as? Units.ParseError)?.description == "'2' has no unit; add one of ms, s, m, h or d (e.g. 2s)"
        }
        #expect {
            try Units.parseDuration("2 seconds")
        } throws: { error in
            (error as? Units.ParseError)?.description
                == "'2 seconds' is not a duration; use a number with ms, s, m, h or d (e.g. 2s)"
        }
    }

    @Test("a plain number for a duration key is a problem at that key")
    func plainNumberDurationInFile() {
        let yaml = Fixtures.minimalAgent.replacingOccurrences(
            of: "    error_dir: /srv/erp/error\n", with: "    error_dir: /srv/erp/error\n    settle: 2\n")
        let problems = Fixtures.agentProblems(yaml)
        #expect(problems.map(\.keyPath) == ["sources[0].settle"])
        #expect(problems.first?.fix == "add one of ms, s, m, h or d (e.g. 2s)")
    }
}
