/// The deterministic identity rules (README, "What it guarantees"): re-reading the same document always
/// yields the same event id, so the hub can drop duplicates.
public enum EventIdentity {
    /// `idoc:<SNDPRN>:<MANDT>:<DOCNUM>` for an IDoc with a DOCNUM, else
    /// `doc:<file sha256>:<ordinal>`.
    public static func id(control: ControlRecord?, fileSHA256: String, ordinal: Int) -> String {
        if let control, !control.docnum.isEmpty {
            return "idoc:\(control.sndprn):\(control.mandt):\(control.docnum)"
        }
        return "doc:\(fileSHA256):\(ordinal)"
    }

    /// The id of the `outpost.document.rejected` event for an input: one per source and
    /// input content (or fingerprint, when the content was not read).
    public static func rejectionID(sourceName: String, fingerprint: String) -> String {
        "rejected:\(sourceName):\(fingerprint)"
    }

    /// The ordering key: documents of one sender system and client stay in order;
    /// documents without an IDoc sender keep their file's order.
    public static func partitionKey(control: ControlRecord?, origin: DocumentOrigin) -> String {
        if let control, !control.docnum.isEmpty {
            return "idoc:\(control.sndprn):\(control.mandt)"
        }
        return "file:\(origin.sourceName):\(origin.fileSHA256)"
    }
}
