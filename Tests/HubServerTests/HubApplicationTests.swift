import Foundation
import GRDB
@testable import HubServer
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct HubApplicationTests {
    typealias F = HubFixtures

    @Test(arguments: StorageKind.allCases)
    func postWithoutKnownTokenIs401(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let body = F.batch([F.event(id: "a")])
                for headers in [F.headers(token: nil), F.headers(token: "wrong"), [.authorization: "Basic \(F.emeaToken)"]] {
                    let response = try await client.execute(uri: "/v1/events", method: .post, headers: headers, body: body)
                    #expect(response.status == .unauthorized)
                    #expect(try response.json["error"] as? String == "missing or unknown bearer token; send Authorization: Bearer <token>")
                    #expect(!response.text.contains(F.emeaToken))
                }
                let stored = try await client.execute(uri: "/v1/events", method: .get)
                #expect((try stored.json["events"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func eventOfAnotherAgentOrRegionRefusesTheWholeBatch(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let wrongAgent = F.event(id: "x1", agent: F.apac)
                let wrongRegion = F.event(id: "x2").replacingOccurrences(of: #""region":"emea""#, with: #""region":"apac""#)
                let noAgent = F.event(id: "x3").replacingOccurrences(of: #""agentid":"plant-emea-01","#, with: "")
                for intruder in [wrongAgent, wrongRegion, noAgent] {
                    let response = try await client.execute(
                        uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken),
                        body: F.batch([F.event(id: "ok-1"), intruder]))
                    #expect(response.status == .forbidden)
                    #expect(try (response.json["error"] as? String)?.contains("event 1") == true)
                }
            }
            let page = try await storage.events(matching: EventQuery())
            #expect(page.events.isEmpty)
        }
    }

    @Test(arguments: StorageKind.allCases)
    func sameBatchTwiceIsStoredOnce(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let body = F.batch([F.event(id: "idoc:PRD:100:1"), F.event(id: "idoc:PRD:100:2"), F.event(id: "idoc:PRD:100:3")])
                let first = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: body)
                #expect(first.status == .ok)
                #expect(first.text == #"{"accepted":3,"duplicates":0,"rejected":[]}"#)
                let second = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: body)
                #expect(second.text == #"{"accepted":0,"duplicates":3,"rejected":[]}"#)
                let repeatedInside = F.batch([F.event(id: "idoc:PRD:100:4"), F.event(id: "idoc:PRD:100:4")])
                let third = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: repeatedInside)
                #expect(third.text == #"{"accepted":1,"duplicates":1,"rejected":[]}"#)

                let stats = try await client.execute(uri: "/v1/stats", method: .get).json
                #expect(stats["events"] as? Int == 4)
                #expect(stats["duplicates_dropped"] as? Int == 4)
                #expect(stats["regions"] as? [String: Int] == ["emea": 4])
                #expect(stats["types"] as? [String: Int] == ["sap.idoc.ORDERS": 4])
                let agents = try #require(stats["agents"] as? [String: [String: Any]])
                #expect(agents["plant-emea-01"]?["events"] as? Int == 4)
                #expect(agents["plant-emea-01"]?["duplicates"] as? Int == 4)
                #expect((agents["plant-emea-01"]?["last_seen"] as? String)?.hasSuffix("Z") == true)
                #expect(agents["plant-amer-09"]?["events"] as? Int == 0)
                #expect(agents["plant-amer-09"]?["last_seen"] is NSNull)
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func invalidEventsAreRejectedAndTheOthersStored(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let missingID = F.event(id: "").replacingOccurrences(of: #""id":"","#, with: "")
                let body = F.batch([F.event(id: "good-1"), F.event(id: "old", specversion: "0.3"), missingID, F.event(id: "good-2")])
                let response = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: body)
                #expect(response.status == .ok)
                #expect(response.text == #"{"accepted":2,"duplicates":0,"rejected":[{"id":"old","reason":"specversion is \"0.3\"; only \"1.0\" is supported"},{"id":null,"reason":"id is missing or empty"}]}"#)
            }
            #expect(try await storage.event(id: "old") == nil)
            #expect(try await storage.event(id: "good-2") != nil)
        }
    }

    @Test(arguments: StorageKind.allCases)
    func rejectedDocumentsAppearInStatistics(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let body = F.batch([
                    F.rejectedDocumentEvent(id: "rejected:sap:1", filename: "ORDERS_1.xml", reason: "malformed_xml"),
                    F.event(id: "idoc:1"),
                    F.rejectedDocumentEvent(id: "rejected:sap:2", filename: "huge.xml", reason: "file_too_large"),
                ])
                let response = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: body)
                #expect(response.text == #"{"accepted":3,"duplicates":0,"rejected":[]}"#)
                let stats = try await client.execute(uri: "/v1/stats", method: .get).json
                let rejected = try #require(stats["rejected_documents"] as? [String: Any])
                #expect(rejected["count"] as? Int == 2)
                let recent = try #require(rejected["recent"] as? [[String: Any]])
                #expect(recent.map { $0["id"] as? String } == ["rejected:sap:2", "rejected:sap:1"])
                #expect(recent.map { $0["filename"] as? String } == ["huge.xml", "ORDERS_1.xml"])
                #expect(recent.map { $0["reason"] as? String } == ["file_too_large", "malformed_xml"])
                #expect(recent.first?["agentid"] as? String == "plant-emea-01")
                #expect(recent.first?["detail"] as? String == "line 1: not XML")
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func oversizedBatchIs413(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage, configuration: F.configuration(maxBatchBytes: 2048)) { client in
                let big = F.batch((0..<10).map { F.event(id: "big-\($0)") })
                #expect(big.readableBytes > 2048)
                let response = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: big)
                #expect(response.status == .contentTooLarge)
                #expect(try (response.json["error"] as? String)?.contains("max_batch_bytes (2048 bytes)") == true)
                let small = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: F.batch([F.event(id: "small")]))
                #expect(small.status == .ok)
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func unparsableBodyIs400AndWrongMediaTypeIs415(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let garbage = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: ByteBuffer(string: #"[{"id":"a"#))
                #expect(garbage.status == .badRequest)
                #expect(try garbage.json["error"] as? String == "body is not a CloudEvents JSON batch: unterminated string at byte offset 7")
                let plain = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken, contentType: "text/plain"),
                    body: F.batch([F.event(id: "a")]))
                #expect(plain.status == .unsupportedMediaType)
                let json = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken, contentType: "application/json; charset=utf-8"),
                    body: F.batch([F.event(id: "a")]))
                #expect(json.status == .ok)
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func pagesFollowArrivalOrderWithFilters(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let emeaEvents = (1...5).map { F.event(id: "e\($0)", type: $0 % 2 == 0 ? "sap.idoc.INVOIC" : "sap.idoc.ORDERS", subject: "s\($0)") }
                _ = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: F.batch(emeaEvents))
                _ = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.apacToken),
                    body: F.batch([F.event(id: "p1", agent: F.apac, subject: "s1")]))

                var ids: [String] = []
                var uri = "/v1/events?limit=2"
                var pages = 0
                while true {
                    let page = try await client.execute(uri: uri, method: .get).json
                    let events = try #require(page["events"] as? [[String: Any]])
                    #expect(events.count <= 2)
                    ids += events.compactMap { $0["id"] as? String }
                    pages += 1
                    guard let next = page["next"] as? String else { break }
                    uri = "/v1/events?limit=2&after=\(next)"
                }
                #expect(ids == ["e1", "e2", "e3", "e4", "e5", "p1"])
                #expect(pages == 3)

                func filtered(_ query: String) async throws -> [String] {
                    let page = try await client.execute(uri: "/v1/events?\(query)", method: .get).json
                    #expect(page["next"] is NSNull)
                    return try #require(page["events"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                }
                #expect(try await filtered("type=sap.idoc.INVOIC") == ["e2", "e4"])
                #expect(try await filtered("subject=s1") == ["e1", "p1"])
                #expect(try await filtered("region=apac") == ["p1"])
                #expect(try await filtered("source=outpost%3A%2F%2Fplant-emea-01%2Fsap-outbound&type=sap.idoc.ORDERS") == ["e1", "e3", "e5"])
                #expect(try await filtered("type=none").isEmpty)

                for bad in ["limit=0", "limit=x", "after=-1", "after=abc", "colour=red"] {
                    let response = try await client.execute(uri: "/v1/events?\(bad)", method: .get)
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func eventByIDReturnsTheBytesAsReceived(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let event = #"{ "specversion" : "1.0", "id":"idoc:PRDCLNT100:100:0000000064132944", "source":"s", "type":"t", "data":"caf\u00e9 \"q\"", "agentid":"plant-emea-01", "region":"emea" }"#
                let response = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: ByteBuffer(string: "[\n" + event + "\n]"))
                #expect(response.text == #"{"accepted":1,"duplicates":0,"rejected":[]}"#)

                let plain = try await client.execute(uri: "/v1/events/idoc:PRDCLNT100:100:0000000064132944", method: .get)
                #expect(plain.status == .ok)
                #expect(plain.text == event)
                #expect(plain.headers[.contentType] == "application/json")
                let encoded = try await client.execute(uri: "/v1/events/idoc%3APRDCLNT100%3A100%3A0000000064132944", method: .get)
                #expect(encoded.text == event)
                let list = try await client.execute(uri: "/v1/events", method: .get)
                #expect(list.text == #"{"events":["# + event + #"],"next":null}"#)

                let slashed = F.event(id: "idoc:A/B:100:7 x")
                _ = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: F.batch([slashed]))
                let slashedAnswer = try await client.execute(uri: "/v1/events/idoc:A%2FB:100:7%20x", method: .get)
                #expect(slashedAnswer.text == slashed)

                let absent = try await client.execute(uri: "/v1/events/idoc:nope", method: .get)
                #expect(absent.status == .notFound)
                #expect(try absent.json["error"] as? String == "no event with id idoc:nope is stored")
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func healthzIsOK(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                let response = try await client.execute(uri: "/healthz", method: .get)
                #expect(response.status == .ok)
                #expect(response.text == #"{"status":"ok"}"#)
            }
        }
    }

    @Test func failingStorageAnswers503WithRetryAfter() async throws {
        let storage = InMemoryHubStorage()
        await storage.failWrites(with: .busy)
        try await withHub(storage) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .serviceUnavailable)
            #expect(try health.json["status"] as? String == "unavailable")
            let post = try await client.execute(
                uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: F.batch([F.event(id: "a")]))
            #expect(post.status == .serviceUnavailable)
            #expect(post.headers[.retryAfter] == "1")
        }
        await storage.failWrites(with: nil)
        let recovered = try await withHub(storage) { client in
            try await client.execute(uri: "/healthz", method: .get)
        }
        #expect(recovered.status == .ok)
    }

    @Test(arguments: StorageKind.allCases)
    func readTokenGuardsReadsOnly(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage, configuration: F.configuration(readToken: F.readToken)) { client in
                let post = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: F.batch([F.event(id: "r:1")]))
                #expect(post.status == .ok)
                for uri in ["/v1/events", "/v1/events/r:1", "/v1/stats"] {
                    #expect(try await client.execute(uri: uri, method: .get).status == .unauthorized, "\(uri)")
                    let agentToken = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(F.emeaToken)"])
                    #expect(agentToken.status == .unauthorized, "\(uri)")
                    let reader = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(F.readToken)"])
                    #expect(reader.status == .ok, "\(uri)")
                }
                #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func readsAreLockedUnlessATokenIsSetOrReadsAreDeclaredOpen(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            var locked = F.configuration()
            locked.readAccess = .token  // the configuration's default
            try await withHub(storage, configuration: locked) { client in
                let post = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: F.batch([F.event(id: "l:1")]))
                #expect(post.status == .ok)
                for uri in ["/v1/events", "/v1/events/l:1", "/v1/stats", "/v1/conflicts", "/"] {
                    let response = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer anything"])
                    #expect(response.status == .unauthorized, "\(uri)")
                    #expect(try (response.json["error"] as? String)?.contains("read_token_sha256") == true, "\(uri)")
                }
                #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            }
        }
    }

    @Test(arguments: StorageKind.allCases)
    func sameIDWithAnotherDocumentIsAConflictNotADuplicate(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await withHub(storage) { client in
                // apac squats emea's future id with a document of its own.
                let squat = F.event(id: "idoc:PRD:100:42", agent: F.apac, data: "<squatted/>")
                let first = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.apacToken), body: F.batch([squat]))
                #expect(first.text == #"{"accepted":1,"duplicates":0,"rejected":[]}"#)
                // emea's real purchase order under that id, re-sent later with another envelope time.
                let real = F.event(id: "idoc:PRD:100:42", data: "<ORDERS05><IDOC/></ORDERS05>")
                for body in [real, real.replacingOccurrences(of: "2026-11-26T10:15:00Z", with: "2026-11-26T11:00:00Z")] {
                    let answer = try await client.execute(
                        uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: F.batch([body]))
                    #expect(answer.status == .ok)
                    let json = try answer.json
                    #expect(json["accepted"] as? Int == 0)
                    #expect(json["duplicates"] as? Int == 0)
                    let rejected = try #require(json["rejected"] as? [[String: Any]])
                    #expect(rejected.count == 1)
                    #expect(rejected.first?["id"] as? String == "idoc:PRD:100:42")
                    #expect((rejected.first?["reason"] as? String)?.hasPrefix("id_conflict: ") == true)
                }
                // The same document again from its owner, envelope changed: a duplicate.
                let resend = squat.replacingOccurrences(of: "2026-11-26T10:15:00Z", with: "2026-11-27T08:00:00Z")
                let again = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.apacToken), body: F.batch([resend]))
                #expect(again.text == #"{"accepted":0,"duplicates":1,"rejected":[]}"#)
                // Within one batch: the first stands, a repeat with another document conflicts.
                let inside = try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken),
                    body: F.batch([F.event(id: "in:1", data: "<a/>"), F.event(id: "in:1", data: "<b/>"), F.event(id: "in:1", data: "<a/>")]))
                let insideJSON = try inside.json
                #expect(insideJSON["accepted"] as? Int == 1)
                #expect(insideJSON["duplicates"] as? Int == 1)
                #expect((insideJSON["rejected"] as? [Any])?.count == 1)

                let stored = try await client.execute(uri: "/v1/events/idoc:PRD:100:42", method: .get)
                #expect(stored.text.contains("<squatted/>"))
                let stats = try await client.execute(uri: "/v1/stats", method: .get).json
                // The real order was sent twice with the same document: recorded once, counted twice.
                #expect(stats["id_conflicts"] as? Int == 3)
                let agents = try #require(stats["agents"] as? [String: [String: Any]])
                #expect(agents["plant-emea-01"]?["conflicts"] as? Int == 3)
                #expect(agents["plant-apac-01"]?["duplicates"] as? Int == 1)
                let list = try await client.execute(uri: "/v1/conflicts?limit=1", method: .get).json
                let conflicts = try #require(list["conflicts"] as? [[String: Any]])
                #expect(conflicts.count == 1)
                #expect(conflicts.first?["id"] as? String == "idoc:PRD:100:42")
                #expect(conflicts.first?["agentid"] as? String == "plant-emea-01")
                #expect(conflicts.first?["stored_agentid"] as? String == "plant-apac-01")
                #expect(conflicts.first?["stored_sha256"] as? String != conflicts.first?["received_sha256"] as? String)
                let next = try #require(list["next"] as? String)
                let rest = try await client.execute(uri: "/v1/conflicts?after=\(next)", method: .get).json
                #expect((rest["conflicts"] as? [[String: Any]])?.map { $0["id"] as? String } == ["in:1"])
                #expect(rest["next"] is NSNull)
            }
        }
    }

    @Test func noFreeBatchSlotAnswers503() async throws {
        let storage = GatedStorage()
        try await withHub(storage, configuration: F.configuration(maxConcurrentBatches: 1)) { client in
            async let held = client.execute(
                uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: F.batch([F.event(id: "held")]))
            await storage.waitUntilAStoreIsWaiting()
            let shed = try await client.execute(
                uri: "/v1/events", method: .post, headers: F.headers(token: F.apacToken),
                body: F.batch([F.event(id: "shed", agent: F.apac)]))
            #expect(shed.status == .serviceUnavailable)
            #expect(shed.headers[.retryAfter] == "1")
            await storage.open()
            #expect(try await held.text == #"{"accepted":1,"duplicates":0,"rejected":[]}"#)
            let after = try await client.execute(
                uri: "/v1/events", method: .post, headers: F.headers(token: F.apacToken),
                body: F.batch([F.event(id: "shed", agent: F.apac)]))
            #expect(after.status == .ok)
        }
    }

    @Test func servesOverALoopbackSocket() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try SQLiteHubStorage(path: directory.appendingPathComponent("hub.sqlite").path)
        try await withHub(storage, setup: .live) { client in
            #expect(client.port != nil && client.port != 0)
            let batch = F.batch((0..<50).map { F.event(id: "live:\($0)", data: String(repeating: "x", count: 2000)) })
            let response = try await client.execute(uri: "/v1/events", method: .post, headers: F.headers(token: F.emeaToken), body: batch)
            #expect(response.text == #"{"accepted":50,"duplicates":0,"rejected":[]}"#)
            let one = try await client.execute(uri: "/v1/events/live:49", method: .get)
            #expect(try one.json["id"] as? String == "live:49")
        }
    }
}

@Suite struct SQLiteHubNewerSchemaTests {
    @Test("a hub database a newer hub migrated is refused with the steps named; a step marked compatible is not")
    func newerDatabaseIsRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-newer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("hub.sqlite").path
        let stored = try await SQLiteHubStorage(path: path).store(PostgresHubStorageTests.batch(["newer:1"]))
        #expect(stored.accepted == 1)
        func mark(_ identifier: String, applied: Bool) throws {
            let queue = try DatabaseQueue(path: path)
            try queue.inDatabase { db in
                try db.execute(
                    sql: applied ? "INSERT INTO grdb_migrations (identifier) VALUES (?)" : "DELETE FROM grdb_migrations WHERE identifier = ?",
                    arguments: [identifier])
            }
            try queue.close()
        }
        try mark("v9-from-a-newer-hub", applied: true)
        do {
            _ = try SQLiteHubStorage(path: path)
            Issue.record("a database a newer hub migrated must be refused")
        } catch let error as NewerSchemaError {
            #expect(error.location == path && error.steps == ["v9-from-a-newer-hub"], "\(error)")
            #expect("\(error)".contains("newer outpost-hub"), "\(error)")
        }
        try mark("v9-from-a-newer-hub", applied: false)
        try mark(NewerSchema.compatiblePrefix + "an-index", applied: true)
        let reopened = try SQLiteHubStorage(path: path)
        #expect(try await reopened.event(id: "newer:1") != nil, "what it held is still there")
    }
}

@Suite struct SQLiteHubDurabilityTests {
    @Test func theWriterSyncsEveryCommit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try SQLiteHubStorage(path: directory.appendingPathComponent("hub.sqlite").path)
        // GRDB lowers a WAL pool's writer to NORMAL (commits not synced) unless told again after.
        #expect(try await storage.writerSynchronousLevel() == 2)
        _ = try await storage.store(IngestBatch(agentID: "a", region: "r", receivedAt: Date(), events: []))
        #expect(try await storage.writerSynchronousLevel() == 2)
    }
}
