import OutpostConfig
import SpendMapping
import Testing

/// The hub's `mapping:` section, checked with the same care as the agent's file.
@Suite struct MappingConfigurationTests {
    static let agents = "agents:\n  - {id: a, region: emea, token_sha256: \(String(repeating: "f", count: 64))}\n"

    @Test("defaults: mapping on, no tolerance, the built-in profiles and flat layouts")
    func defaults() throws {
        let config = try ConfigLoader.loadHub(yaml: Self.agents, fileName: "hub.yaml")
        #expect(config.mapping.enabled)
        #expect(config.mapping.tolerancePercent == .zero)
        #expect(config.mapping.overrides.isEmpty)
        #expect(config.mapping.flatLayout == .builtIn)
    }

    @Test("a regional override for a namespaced extension, flat layouts and a tolerance")
    func override() throws {
        let yaml = """
            mapping:
              tolerance_percent: 2.5
              flat_layouts:
                Z1KOSTL: {KOSTL: [0, 10]}
              profiles:
                - name: emea-lumber-orders
                  extends: orders
                  region: emea
                  extension: _-LUMBERL_-3PL_ORDERS05_EXT
                  header:
                    company_code: ["E1EDK14[QUALF=011]/ORGID", "E1EDK14[QUALF=003]/ORGID"]
                  items:
                    cost_centre: Z1KOSTL/KOSTL
                  defaults: {purchasing_organisation: "1000"}
                  attributes:
                    payment_terms: E1EDK01/_-LUMBERL_-ZTERM_DESCRIPTION/ZTERM_TXT
            """
        let config = try ConfigLoader.loadHub(yaml: yaml + "\n" + Self.agents, fileName: "hub.yaml")
        #expect(config.mapping.tolerancePercent == ExactDecimal("2.5"))
        #expect(config.mapping.flatLayout.segments["Z1KOSTL"] == [.init(name: "KOSTL", offset: 0, width: 10)])
        #expect(config.mapping.flatLayout.segments["E1EDK01"] != nil, "the built-in layouts stay")
        let override = try #require(config.mapping.overrides.first)
        #expect(override.name == "emea-lumber-orders")
        #expect(override.extensionType == "_-LUMBERL_-3PL_ORDERS05_EXT")
        #expect(override.header["company_code"]?.map(\.description) == ["E1EDK14[QUALF=011]/ORGID", "E1EDK14[QUALF=003]/ORGID"])
        #expect(override.item["cost_centre"]?.map(\.description) == ["Z1KOSTL/KOSTL"])
        #expect(override.defaults == ["purchasing_organisation": "1000"])
        #expect(override.attributes["payment_terms"]?.first?.field == "ZTERM_TXT")
    }

    @Test("every problem of a bad mapping section is reported, with the key and a fix")
    func problems() {
        let yaml = """
            mapping:
              enabled: maybe
              tolerance_percent: lots
              flat_layouts:
                Z1KOSTL: {KOSTL: [990, 20]}
              profiles:
                - name: everywhere
                  extends: orders
                - name: bad
                  extends: offers
                  region: emea
                - name: paths
                  extends: invoice
                  sender: PRDCLNT100
                  header: {number: "E1EDK01[QUALF]/BELNR", colour: E1EDK01/X}
                - name: leaky
                  extends: supplier
                  region: emea
                  attributes: {iban: E1LFA1M/E1LFBKM/IBAN, tax: E1LFA1M/STCD1}
            """
        let problems = Fixtures.hubProblems(yaml + "\n" + Self.agents)
        let paths = problems.map(\.keyPath)
        #expect(paths.contains("mapping.enabled"))
        #expect(paths.contains("mapping.tolerance_percent"))
        #expect(paths.contains("mapping.flat_layouts.Z1KOSTL.KOSTL"))
        #expect(paths.contains("mapping.profiles[0].extends"), "a profile for no region, sender or extension: \(paths)")
        #expect(problems.contains { $0.keyPath == "mapping.profiles[1]" && $0.message.contains("'offers', which is not a built-in profile") })
        #expect(problems.contains { $0.keyPath == "mapping.profiles[2].header.number" && $0.message.contains("is not [FIELD=VALUE]") })
        #expect(paths.contains("mapping.profiles[2].header.colour"), "an unknown canonical field")
        let leaks = problems.filter { $0.keyPath == "mapping.profiles[3]" }.map(\.message)
        #expect(leaks.contains { $0.contains("E1LFA1M/E1LFBKM/IBAN") && $0.contains("protected") })
        #expect(leaks.contains { $0.contains("E1LFA1M/STCD1") && $0.contains("protected") })
    }
}
