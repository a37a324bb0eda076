/// The canonical model's tables in PostgreSQL (migration 2; see `CanonicalStorage`). Amounts
/// are `numeric`, so the aggregate adds them exactly in SQL.
enum PostgresCanonicalSchema {
    /// Held for the whole of a mapping transaction, so that replicas map one page at a time.
    static let mappingLock: Int64 = 0x6F75_7470_6F73_0004

    static let migration: (version: Int, name: String, sql: [String]) = (2, "canonical model", [
        "CREATE TABLE mapping_state (id integer PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL, seq bigint NOT NULL)",
        """
        CREATE TABLE canonical_version (
            event_id text PRIMARY KEY, epoch bigint NOT NULL, seq bigint NOT NULL, doc_key text NOT NULL, kind text NOT NULL,
            number text NOT NULL, region text NOT NULL, agentid text NOT NULL, received_at timestamptz NOT NULL,
            json bytea NOT NULL)
        """,
        "CREATE INDEX canonical_version_by_key ON canonical_version (doc_key, epoch, seq)",
        "CREATE INDEX canonical_version_by_number ON canonical_version (number, kind)",
        "CREATE INDEX canonical_version_by_position ON canonical_version (epoch, seq)",
        """
        CREATE TABLE document_reference (po_number text NOT NULL, event_id text NOT NULL, epoch bigint NOT NULL,
            seq bigint NOT NULL, PRIMARY KEY (po_number, event_id))
        """,
        "CREATE INDEX document_reference_by_position ON document_reference (epoch, seq)",
        """
        CREATE TABLE spend_line (
            event_id text NOT NULL, line text NOT NULL, measure text NOT NULL, doc_key text NOT NULL, kind text NOT NULL,
            number text NOT NULL, region text NOT NULL, supplier text NOT NULL, plant text NOT NULL,
            company_code text NOT NULL, cost_centre text NOT NULL, currency text NOT NULL, month text NOT NULL,
            po_number text NOT NULL, po_item text NOT NULL, quantity text, amount numeric,
            epoch bigint NOT NULL, seq bigint NOT NULL, version integer NOT NULL, current boolean NOT NULL,
            PRIMARY KEY (event_id, line, measure))
        """,
        "CREATE INDEX spend_line_current_by_key ON spend_line (doc_key) WHERE current",
        "CREATE INDEX spend_line_current_by_order ON spend_line (po_number) WHERE current",
        "CREATE INDEX spend_line_by_position ON spend_line (epoch, seq)",
        """
        CREATE TABLE spend_cell (
            measure text NOT NULL, region text NOT NULL, supplier text NOT NULL, plant text NOT NULL,
            company_code text NOT NULL, cost_centre text NOT NULL, currency text NOT NULL, month text NOT NULL,
            amount numeric NOT NULL,
            PRIMARY KEY (measure, region, supplier, plant, company_code, cost_centre, currency, month))
        """,
        "CREATE INDEX spend_cell_by_month ON spend_cell (month)",
        """
        CREATE TABLE match_exception (
            po_number text NOT NULL, po_item text NOT NULL, kind text NOT NULL, region text NOT NULL,
            supplier text NOT NULL, doc_key text NOT NULL, number text NOT NULL, detail text NOT NULL)
        """,
        "CREATE INDEX match_exception_by_order ON match_exception (po_number)",
        """
        CREATE TABLE mapping_failure (
            event_id text PRIMARY KEY, epoch bigint NOT NULL, seq bigint NOT NULL, region text NOT NULL,
            agentid text NOT NULL, type text NOT NULL, profile text NOT NULL, received_at timestamptz NOT NULL,
            problems bytea NOT NULL)
        """,
        "CREATE INDEX mapping_failure_by_position ON mapping_failure (epoch, seq)",
        "CREATE TABLE canonical_count (kind text PRIMARY KEY, versions bigint NOT NULL)",
    ])
}
