#!/usr/bin/env python3
"""Generates deterministic SAP ORDERS05 IDoc XML files for scripts/bench.sh.

Each IDoc is a realistic purchase order (control record EDI_DC40, header segments
E1EDK01/E1EDK14/E1EDK03/E1EDKA1/E1EDK02, line items E1EDP01 with E1EDP19/E1EDP20/E1EDP26)
of about 2.25 KB, pretty-printed the way SAP writes XML IDoc files. DOCNUMs are distinct
across the whole data set; the IDocs come from a handful of sender systems (SNDPRN), so the
events fall into that many partition keys. The same arguments always give the same bytes.

  gen_idocs.py --out DIR --files 100 --per-file 200          # 100 files of 200 IDocs
  gen_idocs.py --out DIR --single-file-bytes 1073741824      # one file of ~1 GiB
Prints one JSON line: {"files":…, "idocs":…, "bytes":…}.
"""
import argparse
import json
import os
import random

SENDERS = ["PRDCLNT100", "PRDCLNT200", "EQ2CLNT100", "ERPCLNT300"]
MATERIALS = ["000000000000104711", "000000000000208842", "000000000000377310", "000000000000450001",
             "000000000000512934", "000000000000688120", "000000000000731005", "000000000000899342"]
DESCRIPTIONS = ["Hex bolt M12x80 DIN 933 zinc plated", "Pallet wrap film 23my 500mm",
                "Hydraulic hose 1/2in 2SN 1.5m", "Bearing 6205-2RS C3", "Safety gloves nitrile size 9",
                "Copper cable NYM-J 3x2.5 100m", "Lubricant ISO VG 68 20L", "Corrugated box 600x400x400"]
UNITS = ["PCE", "KGM", "MTR", "LTR", "CT"]
# Line items per order: 1 to 3, 1.5 on average, which makes an IDoc about 2.25 KB.
LINE_COUNTS = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3]


def segment(name, fields, children="", indent=4):
    pad = " " * indent
    inner = "".join(f"{pad}  <{k}>{v}</{k}>\n" for k, v in fields)
    return f"{pad}<{name} SEGMENT=\"1\">\n{inner}{children}{pad}</{name}>\n"


def idoc(rng, docnum, sender):
    belnr = f"45{rng.randrange(10**8):08d}"
    credat = f"2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    cretim = f"{rng.randrange(24):02d}{rng.randrange(60):02d}{rng.randrange(60):02d}"
    vendor = f"{rng.randrange(10**6):010d}"
    out = ["  <IDOC BEGIN=\"1\">\n"]
    out.append(segment("EDI_DC40", [
        ("TABNAM", "EDI_DC40"), ("MANDT", sender[-3:]), ("DOCNUM", f"{docnum:016d}"), ("DOCREL", "750"),
        ("STATUS", "30"), ("DIRECT", "1"), ("OUTMOD", "2"), ("IDOCTYP", "ORDERS05"), ("MESTYP", "ORDERS"),
        ("SNDPOR", "SAP" + sender[:3]), ("SNDPRT", "LS"), ("SNDPRN", sender), ("RCVPOR", "OUTPOST"),
        ("RCVPRT", "LS"), ("RCVPRN", "HUBCLNT001"), ("CREDAT", credat), ("CRETIM", cretim),
        ("SERIAL", credat + cretim),
    ]))
    out.append(segment("E1EDK01", [
        ("CURCY", "EUR"), ("HWAER", "EUR"), ("WKURS", "1.00000"), ("ZTERM", "NT30"), ("BSART", "NB"),
        ("BELNR", belnr), ("RECIPNT_NO", vendor),
    ]))
    for qualf, orgid in (("014", "1000"), ("009", "100")):
        out.append(segment("E1EDK14", [("QUALF", qualf), ("ORGID", orgid)]))
    out.append(segment("E1EDK03", [("IDDAT", "012"), ("DATUM", credat)]))
    out.append(segment("E1EDKA1", [
        ("PARVW", "LF"), ("PARTN", vendor), ("NAME1", "Lieferant " + vendor[-4:] + " GmbH"),
        ("STRAS", f"Industriestrasse {rng.randrange(1, 200)}"), ("ORT01", "Mannheim"),
        ("PSTLZ", f"{rng.randrange(10000, 99999)}"), ("LAND1", "DE"), ("SPRAS", "D"),
    ]))
    out.append(segment("E1EDK02", [("QUALF", "001"), ("BELNR", belnr), ("DATUM", credat), ("UZEIT", cretim)]))
    for line in range(1, 1 + rng.choice(LINE_COUNTS)):
        i = rng.randrange(len(MATERIALS))
        qty = rng.randrange(1, 5000)
        price = rng.randrange(100, 99999) / 100
        children = (
            segment("E1EDP20", [("WMENG", f"{qty}.000"), ("EDATU", credat)], indent=6)
            + segment("E1EDP19", [("QUALF", "001"), ("IDTNR", MATERIALS[i]), ("KTEXT", DESCRIPTIONS[i])], indent=6)
        )
        out.append(segment("E1EDP01", [
            ("POSEX", f"{line * 10:06d}"), ("MENGE", f"{qty}.000"), ("MENEE", UNITS[i % len(UNITS)]),
            ("VPREI", f"{price:.2f}"), ("PEINH", "1"), ("NETWR", f"{qty * price:.2f}"), ("WERKS", "1000"),
        ], children))
    out.append("  </IDOC>\n")
    return "".join(out)


class Writer:
    """Numbers IDocs across files and rotates senders deterministically."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.docnum = 7_000_000_000
        self.idocs = 0

    def next_idoc(self):
        self.docnum += 1
        self.idocs += 1
        return idoc(self.rng, self.docnum, SENDERS[self.rng.randrange(len(SENDERS))])


HEAD = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ORDERS05>\n"
TAIL = "</ORDERS05>\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--per-file", type=int, default=200)
    p.add_argument("--single-file-bytes", type=int, default=0, help="write one file of about this size instead")
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--prefix", default="ORDERS05_bench")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    w = Writer(a.seed)
    total = 0
    files = 0
    if a.single_file_bytes:
        path = os.path.join(a.out, f"{a.prefix}_big.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(HEAD)
            size = len(HEAD) + len(TAIL)
            while size < a.single_file_bytes:
                chunk = "".join(w.next_idoc() for _ in range(1000))
                f.write(chunk)
                size += len(chunk)
            f.write(TAIL)
        total, files = size, 1
    else:
        for n in range(a.files):
            body = HEAD + "".join(w.next_idoc() for _ in range(a.per_file)) + TAIL
            with open(os.path.join(a.out, f"{a.prefix}_{n:05d}.xml"), "w", encoding="utf-8") as f:
                f.write(body)
            total += len(body)
            files += 1
    print(json.dumps({"files": files, "idocs": w.idocs, "bytes": total}))


if __name__ == "__main__":
    main()
