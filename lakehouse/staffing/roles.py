"""The role vocabulary behind the generator: skills, certifications and resume phrases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    title: str
    skills: tuple[str, ...]
    certs: tuple[str, ...]
    duties: tuple[str, ...]
    rate: tuple[float, float]


ROLES: tuple[Role, ...] = (
    Role(
        "Forklift Operator",
        ("forklift operation", "pallet jack", "reach truck", "loading dock", "inventory control"),
        ("OSHA Forklift Certification", "OSHA 10"),
        (
            "moved pallets safely across a busy distribution center",
            "loaded and unloaded trailers with a sit-down forklift",
        ),
        (17, 24),
    ),
    Role(
        "Warehouse Associate",
        (
            "picking and packing",
            "shipping and receiving",
            "RF scanner",
            "cycle counts",
            "order fulfillment",
        ),
        ("OSHA 10",),
        (
            "picked and packed customer orders against daily targets",
            "received inbound freight and kept inventory accurate",
        ),
        (15, 20),
    ),
    Role(
        "Certified Nursing Assistant",
        (
            "patient care",
            "vital signs",
            "bathing and grooming",
            "EMR charting",
            "patient transfers",
        ),
        ("CNA License", "CPR/BLS"),
        (
            "cared for elderly residents in a long-term care facility",
            "recorded vital signs and assisted patients with daily living",
        ),
        (16, 23),
    ),
    Role(
        "Registered Nurse",
        (
            "medication administration",
            "IV therapy",
            "care planning",
            "patient assessment",
            "EMR charting",
        ),
        ("RN License", "ACLS", "CPR/BLS"),
        (
            "managed a caseload of acute care patients on a med-surg floor",
            "administered medications and coordinated care plans with physicians",
        ),
        (38, 60),
    ),
    Role(
        "Medical Assistant",
        ("phlebotomy", "patient intake", "scheduling", "vital signs", "EMR charting"),
        ("CCMA", "CPR/BLS"),
        (
            "roomed patients and took histories in a busy family clinic",
            "drew blood and prepared exam rooms",
        ),
        (17, 24),
    ),
    Role(
        "Line Cook",
        ("grill station", "food prep", "knife skills", "sauté", "food safety"),
        ("ServSafe Food Handler",),
        (
            "ran the grill station during high-volume dinner service",
            "prepped ingredients and kept the line stocked",
        ),
        (15, 22),
    ),
    Role(
        "Dishwasher",
        ("dish machine operation", "kitchen sanitation", "pot washing", "food safety"),
        ("ServSafe Food Handler",),
        (
            "kept dishes and pots moving in a high-volume kitchen",
            "cleaned and sanitized kitchen stations at close",
        ),
        (13, 17),
    ),
    Role(
        "Server",
        ("table service", "POS systems", "upselling", "wine knowledge", "customer service"),
        ("ServSafe Alcohol", "Food Handler Card"),
        (
            "served guests in a fine dining restaurant",
            "handled a section of tables and the point-of-sale system",
        ),
        (12, 20),
    ),
    Role(
        "Bartender",
        ("mixology", "cash handling", "POS systems", "inventory control", "customer service"),
        ("ServSafe Alcohol", "TIPS Certification"),
        (
            "mixed cocktails at a busy hotel bar",
            "managed the bar inventory and closing cash counts",
        ),
        (13, 22),
    ),
    Role(
        "Housekeeper",
        ("room cleaning", "laundry", "linen service", "sanitation"),
        ("Hospitality Housekeeping Certificate",),
        (
            "cleaned and turned over hotel guest rooms",
            "kept linen carts stocked and reported maintenance issues",
        ),
        (14, 18),
    ),
    Role(
        "Janitor",
        ("floor care", "restroom sanitation", "trash removal", "floor buffing"),
        ("Custodial Technician Certificate",),
        (
            "kept office buildings clean on the night crew",
            "stripped and waxed floors in a school district",
        ),
        (14, 19),
    ),
    Role(
        "Security Guard",
        ("access control", "patrol", "incident reports", "CCTV monitoring", "de-escalation"),
        ("Guard Card", "First Aid"),
        (
            "patrolled a corporate campus and wrote incident reports",
            "monitored CCTV and controlled access at the front desk",
        ),
        (15, 24),
    ),
    Role(
        "Electrician",
        ("wiring", "conduit bending", "panel installation", "troubleshooting", "blueprint reading"),
        ("Journeyman Electrician License", "OSHA 30"),
        (
            "installed commercial wiring and lighting panels",
            "troubleshot electrical faults on construction sites",
        ),
        (28, 45),
    ),
    Role(
        "Welder",
        ("MIG welding", "TIG welding", "stick welding", "blueprint reading", "metal fabrication"),
        ("AWS Certified Welder", "OSHA 10"),
        (
            "welded structural steel in a fabrication shop",
            "fabricated and repaired metal parts from blueprints",
        ),
        (20, 34),
    ),
    Role(
        "CDL Truck Driver",
        ("long-haul driving", "pre-trip inspection", "logbook compliance", "route planning"),
        ("CDL Class A", "HAZMAT Endorsement"),
        (
            "drove regional routes delivering freight on schedule",
            "completed pre-trip inspections and electronic logs",
        ),
        (24, 38),
    ),
    Role(
        "Delivery Driver",
        ("route delivery", "customer service", "package handling", "safe driving"),
        ("Clean Driving Record", "DOT Medical Card"),
        (
            "delivered packages along a daily residential route",
            "loaded the van and confirmed deliveries with customers",
        ),
        (16, 23),
    ),
    Role(
        "Customer Service Representative",
        ("phone support", "CRM software", "complaint resolution", "order entry"),
        ("Customer Service Certification",),
        (
            "answered inbound calls and resolved billing questions",
            "handled customer complaints with patience",
        ),
        (15, 22),
    ),
    Role(
        "Data Entry Clerk",
        ("typing 60 wpm", "Microsoft Excel", "data validation", "record keeping"),
        ("Microsoft Office Specialist",),
        ("entered invoices and kept records accurate", "cleaned spreadsheets and validated data"),
        (14, 20),
    ),
    Role(
        "Receptionist",
        ("front desk", "phone etiquette", "scheduling", "visitor check-in"),
        ("Microsoft Office Specialist",),
        (
            "greeted visitors and managed a multi-line phone system",
            "scheduled appointments for a medical office",
        ),
        (14, 20),
    ),
    Role(
        "Machine Operator",
        ("CNC operation", "machine setup", "quality inspection", "lean manufacturing"),
        ("OSHA 10", "Six Sigma Yellow Belt"),
        (
            "ran CNC machines and inspected parts to tolerance",
            "set up production machines on a manufacturing line",
        ),
        (17, 26),
    ),
    Role(
        "Assembly Line Worker",
        ("assembly", "hand tools", "quality checks", "production line"),
        ("OSHA 10",),
        (
            "assembled components on a fast-paced production line",
            "checked finished units for defects",
        ),
        (14, 20),
    ),
    Role(
        "HVAC Technician",
        ("HVAC repair", "refrigeration", "ductwork", "troubleshooting"),
        ("EPA 608 Certification", "OSHA 10"),
        (
            "repaired heating and cooling systems for commercial clients",
            "installed ductwork and refrigeration units",
        ),
        (24, 40),
    ),
    Role(
        "Carpenter",
        ("framing", "finish carpentry", "power tools", "blueprint reading"),
        ("OSHA 10",),
        (
            "framed houses and installed trim on residential builds",
            "built cabinets and finished interiors",
        ),
        (20, 35),
    ),
    Role(
        "Landscaper",
        ("lawn care", "irrigation", "planting", "equipment operation"),
        ("Pesticide Applicator License",),
        (
            "maintained lawns and gardens for commercial properties",
            "installed irrigation and planted beds",
        ),
        (14, 20),
    ),
)

FIRST_NAMES = (
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Jose",
    "Aisha",
    "Wei",
    "Priya",
    "Carlos",
    "Fatima",
    "Daniel",
    "Sofia",
    "Kwame",
    "Mei",
    "Ahmed",
    "Olga",
    "Luis",
    "Grace",
    "Tyrone",
    "Hana",
    "Ivan",
    "Lucia",
    "Samuel",
    "Amara",
    "Kenji",
    "Elena",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Johnson",
    "Nguyen",
    "Williams",
    "Martinez",
    "Brown",
    "Lee",
    "Davis",
    "Rodriguez",
    "Patel",
    "Kim",
    "Wilson",
    "Lopez",
    "Okafor",
    "Chen",
    "Anderson",
    "Hernandez",
    "Thomas",
    "Singh",
    "Moore",
    "Ivanova",
    "Jackson",
    "Ali",
    "White",
    "Tanaka",
    "Harris",
    "Silva",
    "Clark",
    "Cohen",
)
CITIES = (
    ("Houston", "TX"),
    ("Dallas", "TX"),
    ("Austin", "TX"),
    ("Chicago", "IL"),
    ("Springfield", "IL"),
    ("Los Angeles", "CA"),
    ("Fresno", "CA"),
    ("San Diego", "CA"),
    ("Phoenix", "AZ"),
    ("Atlanta", "GA"),
    ("Miami", "FL"),
    ("Orlando", "FL"),
    ("Columbus", "OH"),
    ("Cleveland", "OH"),
    ("Newark", "NJ"),
    ("Seattle", "WA"),
    ("Denver", "CO"),
    ("Charlotte", "NC"),
    ("Nashville", "TN"),
    ("Detroit", "MI"),
)
SHIFTS = ("day", "evening", "night", "weekend", "rotating")
LANGUAGES = (
    "English",
    "Spanish",
    "Mandarin",
    "Vietnamese",
    "Tagalog",
    "Arabic",
    "French",
    "Hindi",
    "Russian",
    "Portuguese",
)
