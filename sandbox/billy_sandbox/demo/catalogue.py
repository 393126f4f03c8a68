"""The demo company's fixed material: names, segments, products, suppliers, recurring bills."""

from __future__ import annotations

FIRST_NAMES = (
    "Mette", "Lars", "Anne", "Jens", "Kirsten", "Peter", "Hanne", "Michael", "Susanne", "Søren", "Lene", "Henrik",
    "Camilla", "Thomas", "Louise", "Rasmus", "Maria", "Jesper", "Ida", "Mads", "Sofie", "Frederik", "Emma", "Jonas",
    "Freja", "Anders", "Line", "Mikkel", "Julie", "Christian",
)  # fmt: skip
LAST_NAMES = (
    "Hansen", "Nielsen", "Jensen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen",
    "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Christiansen", "Poulsen", "Johansen",
    "Møller", "Mortensen", "Lund", "Holm", "Bech", "Dahl", "Vestergaard",
)  # fmt: skip
BUSINESS_KINDS = (
    ("Café", "cafe"), ("Bageriet", "bakery"), ("Kaffebaren", "cafe"), ("Restaurant", "restaurant"),
    ("Hotel", "hotel"), ("Kontorfællesskabet", "office"), ("Frisørsalonen", "office"), ("Tandklinikken", "office"),
    ("Advokatfirmaet", "office"), ("Revisionshuset", "office"), ("Vinbaren", "restaurant"), ("Kantinen", "office"),
    ("Boghandlen", "cafe"), ("Konditoriet", "bakery"),
)  # fmt: skip
PLACE_NAMES = (
    "Solsikken", "Havnen", "Møllen", "Strandvejen", "Kastanjen", "Nørrebro", "Fjorden", "Lindegården", "Åen",
    "Torvet", "Bakken", "Egetræet", "Latinerkvarteret", "Frederiksberg", "Vesterbro", "Klitten", "Skoven", "Bryggen",
)  # fmt: skip
LEGAL_FORMS = ("ApS", "ApS", "ApS", "A/S", "I/S", "v/ ejer")
STREETS = (
    "Vestergade", "Østergade", "Nørregade", "Søndergade", "Algade", "Havnegade", "Strandvejen", "Jernbanegade",
    "Skolegade", "Kirkevej", "Møllevej", "Stationsvej", "Torvegade", "Bredgade",
)  # fmt: skip
# (zipcode, city text, city id)
DK_CITIES = (
    ("8000", "Aarhus C", "dk_aarhus"), ("1620", "København V", "dk_kobenhavn"), ("5000", "Odense C", "dk_odense"),
    ("9000", "Aalborg", "dk_aalborg"), ("6700", "Esbjerg", "dk_esbjerg"), ("7100", "Vejle", "dk_vejle"),
    ("8900", "Randers C", "dk_randers"), ("8700", "Horsens", "dk_horsens"), ("6000", "Kolding", "dk_kolding"),
    ("4000", "Roskilde", "dk_roskilde"),
)  # fmt: skip
PUBLIC_BODIES = (
    "Aarhus Kommune – Rådhuskantinen",
    "Region Midtjylland – Regionshuset Viborg",
    "Favrskov Kommune – Jobcenter",
    "Aarhus Universitet – Institut for Kemi",
)
# (country, company name, city, street, VAT number pattern: letters kept, 9 = a random digit)
EU_CUSTOMERS = (
    ("DE", "Kaffeehaus Brenner GmbH", "Hamburg", "Lange Reihe 12", "DE999999999"),
    ("SE", "Kafferosteriet Malmö AB", "Malmö", "Södergatan 4", "SE999999999901"),
    ("NL", "Koffiebar De Molen B.V.", "Utrecht", "Oudegracht 88", "NL999999999B01"),
    ("FR", "Café du Port SARL", "Lyon", "Rue de la République 7", "FR99999999999"),
    ("FI", "Kahvila Aalto Oy", "Helsinki", "Mannerheimintie 20", "FI99999999"),
    ("AT", "Wiener Röstwerk GmbH", "Wien", "Mariahilfer Straße 31", "ATU99999999"),
)
EXPORT_CUSTOMERS = (
    ("NO", "Kaffebrenneriet Bergen AS", "Bergen", "Bryggen 3"),
    ("CH", "Kaffeerösterei Zürich AG", "Zürich", "Bahnhofstrasse 50"),
    ("GB", "Harbour Coffee Ltd", "Edinburgh", "Leith Walk 101"),
    ("US", "Nordic Brew Inc.", "Seattle", "1st Avenue 1200"),
)
# (key, country, name, city, VAT pattern or None for a Danish CVR, payment terms days)
SUPPLIERS = (
    ("rent", "DK", "Ejendomsselskabet Jægergården ApS", "Aarhus C", None, 0),
    ("power", "DK", "Energi Midt Forsyning A/S", "Silkeborg", None, 14),
    ("phone", "DK", "Telefonselskabet Nordlink A/S", "København V", None, 14),
    ("beans", "DK", "Risteriet Sydhavn ApS", "København SV", None, 30),
    ("freight", "DK", "Fragtmanden Østjylland ApS", "Aarhus N", None, 14),
    ("accountant", "DK", "Revisorgruppen Aarhus ApS", "Aarhus C", None, 8),
    ("office", "DK", "Kontorland Danmark A/S", "Brøndby", None, 30),
    ("machines", "DE", "Espresso Technik Müller GmbH", "Düsseldorf", "DE999999999", 30),
    ("parts", "NL", "Barista Parts Europe B.V.", "Eindhoven", "NL999999999B01", 30),
    ("software", "IE", "CloudTill Software Ltd", "Dublin", "IE9999999W", 0),
    ("consulting", "SE", "Nordic Coffee Consulting AB", "Göteborg", "SE999999999901", 14),
)
# (name, productNo, DKK price, ruleset: VAR goods | YDE services, revenue account)
PRODUCTS = (
    ("Espressomaskine Classic", "EM-100", "18995", "VAR", 1110),
    ("Espressomaskine Pro 2-gruppe", "EM-200", "54995", "VAR", 1110),
    ("Kaffekværn K30", "KV-30", "8495", "VAR", 1110),
    ("Kaffekværn Mini", "KV-10", "2995", "VAR", 1110),
    ("Mælkeskummer", "MS-01", "1495", "VAR", 1110),
    ("Kaffebønner Husets Blend 1 kg", "KB-HB1", "189", "VAR", 1110),
    ("Kaffebønner Økologisk Espresso 1 kg", "KB-OE1", "229", "VAR", 1110),
    ("Afkalkningsmiddel 1 l", "RM-AF1", "129", "VAR", 1110),
    ("Rensetabletter 100 stk", "RM-RT100", "149", "VAR", 1110),
    ("Vandfilter", "VF-01", "399", "VAR", 1110),
    ("Porcelænskopper 6 stk", "KP-6", "349", "VAR", 1110),
    ("Baristakande 0,6 l", "BK-06", "199", "VAR", 1110),
    ("Reservedel: Bryggehoved-pakning", "RD-BP", "89", "VAR", 1110),
    ("Reservedel: Pumpe", "RD-PU", "1295", "VAR", 1110),
    ("Fragt", "FR-01", "149", "VAR", 1115),
    ("Serviceaftale, måned", "SA-M", "695", "YDE", 1110),
    ("Serviceaftale, år", "SA-A", "7495", "YDE", 1110),
    ("Reparation, pr. time", "RP-T", "695", "YDE", 1110),
    ("Installation og opsætning", "IN-01", "1995", "YDE", 1110),
    ("Baristakursus, pr. deltager", "BK-K", "1495", "YDE", 1110),
    ("Konsulentbistand, pr. time", "KO-T", "950", "YDE", 1110),
    ("Udlejning af espressomaskine, måned", "UD-M", "1295", "YDE", 1110),
    ("Akut-udkald", "AK-01", "1250", "YDE", 1110),
    ("Kørsel, pr. km", "KR-KM", "4", "YDE", 1110),
    ("Tamper i rustfrit stål", "TP-01", "299", "VAR", 1110),
)
# segment -> (productNo, min qty, max qty, weight)
SEGMENT_LINES: dict[str, tuple[tuple[str, int, int, int], ...]] = {
    "cafe": (("KB-HB1", 5, 40, 10), ("KB-OE1", 5, 30, 6), ("SA-M", 1, 1, 6), ("RM-RT100", 1, 4, 4), ("RP-T", 1, 4, 3),
             ("KV-30", 1, 1, 1), ("EM-200", 1, 1, 1), ("RD-BP", 1, 4, 2), ("FR-01", 1, 1, 3), ("VF-01", 1, 2, 2)),
    "bakery": (("KB-HB1", 10, 60, 10), ("SA-M", 1, 1, 5), ("RP-T", 1, 3, 3), ("AK-01", 1, 1, 1), ("KR-KM", 20, 80, 2),
               ("RM-AF1", 1, 6, 3), ("EM-100", 1, 1, 1), ("FR-01", 1, 1, 3)),
    "restaurant": (("KB-OE1", 5, 25, 8), ("SA-A", 1, 1, 2), ("UD-M", 1, 2, 4), ("BK-K", 1, 4, 2), ("KP-6", 1, 6, 3),
                   ("RP-T", 1, 3, 2), ("FR-01", 1, 1, 2)),
    "hotel": (("KB-HB1", 20, 80, 8), ("UD-M", 1, 4, 5), ("SA-M", 1, 2, 4), ("EM-200", 1, 1, 1), ("IN-01", 1, 1, 1),
              ("KP-6", 2, 10, 2), ("FR-01", 1, 1, 2)),
    "office": (("KB-HB1", 2, 15, 10), ("UD-M", 1, 1, 6), ("RM-RT100", 1, 2, 3), ("VF-01", 1, 1, 2), ("KV-10", 1, 1, 1),
               ("FR-01", 1, 1, 3)),
    "person": (("KV-10", 1, 1, 3), ("MS-01", 1, 1, 3), ("KB-OE1", 1, 4, 8), ("BK-K", 1, 2, 3), ("TP-01", 1, 1, 2),
               ("BK-06", 1, 2, 2), ("EM-100", 1, 1, 1)),
    "public": (("SA-A", 1, 1, 3), ("KB-HB1", 20, 100, 8), ("IN-01", 1, 1, 1), ("EM-100", 1, 2, 1), ("KO-T", 2, 10, 2),
               ("RP-T", 1, 4, 2)),
    "eu": (("EM-200", 1, 2, 3), ("KV-30", 1, 4, 4), ("RD-PU", 1, 6, 3), ("KB-OE1", 20, 100, 4), ("KO-T", 2, 12, 3),
           ("IN-01", 1, 2, 2), ("BK-K", 1, 4, 1)),
    "export": (("EM-200", 1, 3, 3), ("KV-30", 1, 4, 3), ("KB-HB1", 40, 200, 5), ("KO-T", 4, 16, 2), ("RD-PU", 1, 4, 2)),
}  # fmt: skip
# recurring bills: (supplier key, every n months, day of month, account, tax tag, description, DKK amount low, high)
RECURRING_BILLS = (
    ("rent", 1, 1, 1610, "purchase_exempt", "Husleje", "14500", "14500"),
    ("power", 3, 5, 1620, "dk_purchase_25", "El og varme, kvartal", "3200", "5800"),
    ("phone", 1, 3, 1720, "dk_purchase_25", "Mobil og bredbånd", "749", "899"),
    ("software", 1, 2, 1230, "eu_purchase_services", "CloudTill kassesystem, abonnement", "89", "129"),
    ("consulting", 3, 20, 1230, "eu_purchase_services", "Rådgivning om kaffeindkøb", "900", "2400"),
    ("beans", 1, 10, 1210, "dk_purchase_25", "Råkaffe og ristede bønner", "9000", "26000"),
    ("beans", 1, 24, 1210, "dk_purchase_25", "Ristede bønner, efterbestilling", "4000", "12000"),
    ("machines", 1, 15, 1220, "eu_purchase_goods", "Espressomaskiner og kværne", "2500", "9000"),
    ("parts", 2, 12, 1220, "eu_purchase_goods", "Reservedele", "300", "1400"),
    ("freight", 1, 28, 1310, "dk_purchase_25", "Fragt og kurer", "900", "2600"),
    ("accountant", 3, 25, 1740, "dk_purchase_25", "Bogføring og momsangivelse", "4500", "6500"),
    ("office", 2, 8, 1710, "dk_purchase_25", "Kontorartikler", "300", "1500"),
)
SEASON = {
    1: 0.85,
    2: 0.9,
    3: 1.0,
    4: 1.0,
    5: 1.05,
    6: 1.0,
    7: 0.7,
    8: 0.9,
    9: 1.05,
    10: 1.1,
    11: 1.2,
    12: 1.3,
}
# payment behaviour: (profile, weight, days after the due date: low, high; None = never pays)
PAYERS = (
    ("punctual", 50, (-6, 0)),
    ("normal", 25, (0, 7)),
    ("late", 15, (8, 45)),
    ("very_late", 7, (46, 150)),
    ("defaulter", 3, None),
)
