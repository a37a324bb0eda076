"""Realistic ORDERS05 purchase orders and INVOIC02 invoices for the hub benchmarks
(hub_bench.py --mix, spend_bench.py), as an agent puts them in an event's `data`.

The documents follow SAP's standard segments and qualifiers as the built-in mapping profiles
read them (docs/MAPPING.md), in the layout of samples/orders05-purchase-order.xml and
samples/invoic02-invoice.xml. The world they describe:

- 8 company codes, two per region (the agent's region r0 … r3), each with its currency
  (EUR, EUR, GBP, CHF, USD, MXN, JPY, CNY) and 5 plants: 40 plants;
- 400 suppliers, 50 per company code;
- document dates spread evenly over the 24 months 2025-01 … 2026-12;
- 16 item layouts of 1 to 8 items (4.5 on average), materials, quantities and prices.

Every document is a function of (agent, sequence number), so a batch sent again after a 429
or 503 carries the same events. A purchase order's number is unique per agent; an invoice
refers to one of the last 50 orders its agent sent (or to an order that was never sent when
the mix has no orders), with the order's items and values.
"""
import json
import string

COMPANY_CODES = [  # code, currency, country
    ("1000", "EUR", "DE"), ("1100", "EUR", "FR"), ("2000", "GBP", "GB"), ("2100", "CHF", "CH"),
    ("3000", "USD", "US"), ("3100", "MXN", "MX"), ("4000", "JPY", "JP"), ("4100", "CNY", "CN"),
]
PLANTS = [[f"{code[:2]}{k}0" for k in range(1, 6)] for code, _, _ in COMPANY_CODES]
SUPPLIERS_PER_CODE = 50
MONTHS = 24
TYPES = {"orders05": "sap.idoc.ORDERS", "invoic02": "sap.idoc.INVOIC"}


def _escape(xml):
    return json.dumps(xml)[1:-1]


class Template:
    """A document in JSON-string form with `{name}` fields, filled by joining its parts."""

    def __init__(self, text):
        self.parts = [(literal, name) for literal, name, _, _ in string.Formatter().parse(text)]

    def fill(self, values):
        return "".join([literal + values[name] if name else literal for literal, name in self.parts])


def _items():
    """16 item layouts: (count, [(item, material, text, quantity, unit, price, net)])."""
    layouts = []
    for v in range(16):
        items = []
        for i in range(1, 1 + (v % 8) + 1):
            quantity = (v * 7 + i * 13) % 240 + 1
            price = f"{(v * 131 + i * 977) % 4000 + 1}.{(v * 17 + i * 29) % 100:02d}"
            cents = int(price.replace(".", "")) * quantity
            net = f"{cents // 100}.{cents % 100:02d}"
            material = f"MAT-{(v * 37 + i * 101) % 900 + 100}-{(v * 53 + i * 7) % 9000 + 1000}"
            unit = "PCE" if (v + i) % 3 else "KG"
            items.append((f"{10 * i:05d}", material, f"Part {material[4:]}", f"{quantity}.000", unit, price, net))
        total = sum(int(net.replace(".", "")) for *_, net in items)
        layouts.append((items, f"{total // 100}.{total % 100:02d}"))
    return layouts


LAYOUTS = _items()


def _order_template(items, total):
    rows = "".join(
        f'<E1EDP01 SEGMENT="1"><POSEX>{n}</POSEX><ACTION>001</ACTION><MENGE>{q}</MENGE><MENEE>{u}</MENEE>'
        f'<PMENE>{u}</PMENE><VPREI>{p}</VPREI><PEINH>1</PEINH><NETWR>{net}</NETWR><MATKL>300</MATKL>'
        '<WERKS>{plant}</WERKS><E1EDP20 SEGMENT="1"><WMENG>' + q + '</WMENG><EDATU>{delivery}</EDATU></E1EDP20>'
        f'<E1EDP19 SEGMENT="1"><QUALF>001</QUALF><IDTNR>{m}</IDTNR><KTEXT>{t}</KTEXT></E1EDP19></E1EDP01>'
        for n, m, t, q, u, p, net in items)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><ORDERS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM>'
        '<MANDT>100</MANDT><DOCNUM>{docnum}</DOCNUM><DOCREL>757</DOCREL><STATUS>30</STATUS><DIRECT>1</DIRECT>'
        '<OUTMOD>2</OUTMOD><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP><SNDPOR>SAPPRD</SNDPOR><SNDPRT>LS</SNDPRT>'
        '<SNDPRN>{sender}</SNDPRN><RCVPOR>EDIPORT01</RCVPOR><RCVPRT>LI</RCVPRT><RCVPRN>{supplier}</RCVPRN>'
        '<CREDAT>{date}</CREDAT><CRETIM>091512</CRETIM></EDI_DC40>'
        '<E1EDK01 SEGMENT="1"><ACTION>004</ACTION><CURCY>{currency}</CURCY><WKURS>1.00000</WKURS><ZTERM>ZB30</ZTERM>'
        '<BSART>NB</BSART><BELNR>{number}</BELNR><RECIPNT_NO>{supplier}</RECIPNT_NO></E1EDK01>'
        '<E1EDK14 SEGMENT="1"><QUALF>011</QUALF><ORGID>{company}</ORGID></E1EDK14>'
        '<E1EDK14 SEGMENT="1"><QUALF>013</QUALF><ORGID>NB</ORGID></E1EDK14>'
        '<E1EDK14 SEGMENT="1"><QUALF>014</QUALF><ORGID>{company}</ORGID></E1EDK14>'
        '<E1EDK03 SEGMENT="1"><IDDAT>012</IDDAT><DATUM>{date}</DATUM></E1EDK03>'
        '<E1EDK03 SEGMENT="1"><IDDAT>002</IDDAT><DATUM>{delivery}</DATUM></E1EDK03>'
        '<E1EDKA1 SEGMENT="1"><PARVW>LF</PARVW><PARTN>{supplier}</PARTN><NAME1>Supplier {supplier}</NAME1>'
        '<STRAS>Werkstrasse 14</STRAS><ORT01>Heilbronn</ORT01><PSTLZ>74076</PSTLZ><LAND1>{country}</LAND1></E1EDKA1>'
        '<E1EDKA1 SEGMENT="1"><PARVW>AG</PARVW><PARTN>{company}</PARTN><NAME1>Company {company}</NAME1>'
        '<LAND1>{country}</LAND1></E1EDKA1>'
        '<E1EDKA1 SEGMENT="1"><PARVW>WE</PARVW><PARTN>{plant}</PARTN><NAME1>Plant {plant}</NAME1>'
        '<LAND1>{country}</LAND1></E1EDKA1>'
        '<E1EDK02 SEGMENT="1"><QUALF>001</QUALF><BELNR>{number}</BELNR><DATUM>{date}</DATUM></E1EDK02>'
        + rows +
        f'<E1EDS01 SEGMENT="1"><SUMID>002</SUMID><SUMME>{total}</SUMME><SUNIT>{{currency}}</SUNIT></E1EDS01>'
        '</IDOC></ORDERS05>')
    return _escape(xml)


def _invoice_template(items, total):
    rows = "".join(
        f'<E1EDP01 SEGMENT="1"><POSEX>{int(n):06d}</POSEX><MENGE>{q}</MENGE><MENEE>{u}</MENEE><VPREI>{p}</VPREI>'
        f'<PEINH>1</PEINH><NETWR>{net}</NETWR>'
        '<E1EDP02 SEGMENT="1"><QUALF>001</QUALF><BELNR>{order}</BELNR><ZEILE>' + n + '</ZEILE></E1EDP02>'
        f'<E1EDP19 SEGMENT="1"><QUALF>001</QUALF><IDTNR>{m}</IDTNR><KTEXT>{t}</KTEXT></E1EDP19>'
        f'<E1EDP26 SEGMENT="1"><QUALF>003</QUALF><BETRG>{net}</BETRG></E1EDP26>'
        f'<E1EDP04 SEGMENT="1"><MWSKZ>VAT</MWSKZ><MSATZ>19.00</MSATZ></E1EDP04></E1EDP01>'
        for n, m, t, q, u, p, net in items)
    cents = int(total.replace(".", ""))
    gross = cents + (cents * 19 + 50) // 100
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><INVOIC02><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM>'
        '<MANDT>100</MANDT><DOCNUM>{docnum}</DOCNUM><DOCREL>757</DOCREL><STATUS>50</STATUS><DIRECT>2</DIRECT>'
        '<IDOCTYP>INVOIC02</IDOCTYP><MESTYP>INVOIC</MESTYP><MESCOD>MM</MESCOD><SNDPOR>EDIPORT01</SNDPOR>'
        '<SNDPRT>LI</SNDPRT><SNDPRN>{supplier}</SNDPRN><RCVPOR>SAPPRD</RCVPOR><RCVPRT>LS</RCVPRT>'
        '<RCVPRN>{sender}</RCVPRN><CREDAT>{date}</CREDAT><CRETIM>143005</CRETIM></EDI_DC40>'
        '<E1EDK01 SEGMENT="1"><CURCY>{currency}</CURCY><WKURS>1.00000</WKURS><ZTERM>ZB30</ZTERM><BSART>INVO</BSART>'
        '<BELNR>{number}</BELNR></E1EDK01>'
        '<E1EDK14 SEGMENT="1"><QUALF>011</QUALF><ORGID>{company}</ORGID></E1EDK14>'
        '<E1EDKA1 SEGMENT="1"><PARVW>RS</PARVW><PARTN>{supplier}</PARTN><NAME1>Supplier {supplier}</NAME1>'
        '<STRAS>Werkstrasse 14</STRAS><ORT01>Heilbronn</ORT01><PSTLZ>74076</PSTLZ><LAND1>{country}</LAND1></E1EDKA1>'
        '<E1EDKA1 SEGMENT="1"><PARVW>RE</PARVW><PARTN>{company}</PARTN><NAME1>Company {company}</NAME1>'
        '<LAND1>{country}</LAND1></E1EDKA1>'
        '<E1EDK02 SEGMENT="1"><QUALF>001</QUALF><BELNR>{order}</BELNR><DATUM>{order_date}</DATUM></E1EDK02>'
        '<E1EDK02 SEGMENT="1"><QUALF>009</QUALF><BELNR>{number}</BELNR><DATUM>{date}</DATUM></E1EDK02>'
        '<E1EDK03 SEGMENT="1"><IDDAT>012</IDDAT><DATUM>{date}</DATUM></E1EDK03>'
        '<E1EDK04 SEGMENT="1"><MWSKZ>VAT</MWSKZ><MSATZ>19.00</MSATZ></E1EDK04>'
        + rows +
        f'<E1EDS01 SEGMENT="1"><SUMID>010</SUMID><SUMME>{total}</SUMME><WAERQ>{{currency}}</WAERQ></E1EDS01>'
        f'<E1EDS01 SEGMENT="1"><SUMID>011</SUMID><SUMME>{gross // 100}.{gross % 100:02d}</SUMME>'
        '<WAERQ>{currency}</WAERQ></E1EDS01></IDOC></INVOIC02>')
    return _escape(xml)


ORDER_TEMPLATES = [Template(_order_template(items, total)) for items, total in LAYOUTS]
INVOICE_TEMPLATES = [Template(_invoice_template(items, total)) for items, total in LAYOUTS]


def _hash(agent, n):
    h = (agent * 0x9E3779B1 + n * 0x85EBCA77) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    return h ^ (h >> 12)


def order_facts(agent, region, n):
    """The n-th purchase order (1, 2, …) of agent number `agent` in region number `region`."""
    h = _hash(agent, n)
    c = 2 * (region % 4) + (h & 1)
    company, currency, country = COMPANY_CODES[c]
    month = (h >> 4) % MONTHS
    day = 1 + (h >> 9) % 21
    date = f"{2025 + month // 12}{month % 12 + 1:02d}{day:02d}"
    return {
        "number": f"4{agent % 100:02d}{n % 10_000_000:07d}",
        "company": company, "currency": currency, "country": country,
        "plant": PLANTS[c][(h >> 1) % 5],
        "supplier": f"{100000 + c + 8 * ((h >> 14) % SUPPLIERS_PER_CODE):010d}",
        "date": date, "delivery": date[:6] + f"{day + 7:02d}",
        "layout": (h >> 20) % len(LAYOUTS),
    }


def document(kind, agent, region, n, per_kind, has_orders):
    """`data` of an event: the n-th document of `kind` ('orders05' or 'invoic02') of the agent;
    `per_kind` is how many orders the agent has sent by then (for an invoice's reference)."""
    sender = f"ERP{region % 4}CLNT100"
    docnum = f"{agent % 1000:03d}{n:013d}"
    if kind == "orders05":
        facts = order_facts(agent, region, per_kind)
        facts["docnum"] = docnum
        facts["sender"] = sender
        return ORDER_TEMPLATES[facts["layout"]].fill(facts)
    order = per_kind
    if has_orders:
        order = max(1, per_kind - _hash(agent, -n) % min(50, max(1, per_kind)))
    else:
        order += 5_000_000  # an order number no one sent
    facts = order_facts(agent, region, order)
    facts["order"] = facts["number"]
    facts["order_date"] = facts["date"]
    facts["date"] = facts["date"][:6] + f"{int(facts['date'][6:]) + 7:02d}"
    facts["number"] = f"51{agent % 100:02d}{n % 1_000_000:06d}"
    facts["docnum"] = docnum
    facts["sender"] = sender
    return INVOICE_TEMPLATES[facts["layout"]].fill(facts)


class Mix:
    """Which document the n-th event of an agent carries: the kinds in turn."""

    def __init__(self, kinds):
        self.kinds = kinds
        for kind in kinds:
            if kind not in TYPES:
                raise SystemExit(f"--mix: {kind} is not one of {', '.join(TYPES)}")
        self.has_orders = "orders05" in kinds

    def event(self, agent, region, n):
        """(type, data) of the agent's n-th event (n = 1, 2, …)."""
        kind = self.kinds[(n - 1) % len(self.kinds)]
        per_kind = (n - 1) // len(self.kinds) + 1
        return TYPES[kind], document(kind, agent, region, n, per_kind, self.has_orders)
