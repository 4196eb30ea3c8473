"""Labelled staffing queries: query text → the roles a good answer comes from.

Used to measure retrieval quality (hit@k). ``roles == []`` marks an out-of-domain query
that the system should flag as low-confidence rather than answer.
"""

from __future__ import annotations

import json
from pathlib import Path

LABELLED_QUERIES: tuple[dict, ...] = (
    {"query": "forklift driver for night shift at a distribution center", "roles": ["Forklift Operator"]},
    {"query": "someone certified to move pallets with a reach truck", "roles": ["Forklift Operator", "Warehouse Associate"]},
    {"query": "warehouse picker packer with RF scanner experience", "roles": ["Warehouse Associate"]},
    {"query": "shipping and receiving help for an order fulfillment center", "roles": ["Warehouse Associate", "Forklift Operator"]},
    {"query": "nursing assistant for elderly residents, CPR certified", "roles": ["Certified Nursing Assistant"]},
    {"query": "CNA to help patients with bathing and vital signs", "roles": ["Certified Nursing Assistant", "Medical Assistant"]},
    {"query": "RN with IV therapy and ACLS for a med-surg floor", "roles": ["Registered Nurse"]},
    {"query": "licensed nurse to administer medications", "roles": ["Registered Nurse"]},
    {"query": "clinic assistant who can draw blood and room patients", "roles": ["Medical Assistant"]},
    {"query": "grill cook for busy dinner service", "roles": ["Line Cook"]},
    {"query": "kitchen prep cook with knife skills and ServSafe", "roles": ["Line Cook"]},
    {"query": "dish machine operator to keep the kitchen clean", "roles": ["Dishwasher"]},
    {"query": "waiter for a fine dining restaurant", "roles": ["Server"]},
    {"query": "cocktail bartender for a hotel bar", "roles": ["Bartender"]},
    {"query": "hotel room attendant to clean guest rooms", "roles": ["Housekeeper"]},
    {"query": "night custodian for floor waxing in schools", "roles": ["Janitor"]},
    {"query": "guard with a guard card to patrol a campus", "roles": ["Security Guard"]},
    {"query": "CCTV monitoring and access control officer", "roles": ["Security Guard"]},
    {"query": "journeyman electrician for commercial wiring", "roles": ["Electrician"]},
    {"query": "TIG and MIG welder for a fabrication shop", "roles": ["Welder"]},
    {"query": "class A CDL driver with hazmat endorsement", "roles": ["CDL Truck Driver"]},
    {"query": "van driver for residential package delivery", "roles": ["Delivery Driver"]},
    {"query": "call center agent to resolve billing complaints", "roles": ["Customer Service Representative"]},
    {"query": "fast typist for invoice data entry in Excel", "roles": ["Data Entry Clerk"]},
    {"query": "front desk receptionist for a medical office", "roles": ["Receptionist", "Medical Assistant"]},
    {"query": "CNC machine operator who can inspect parts", "roles": ["Machine Operator"]},
    {"query": "production line assembler with hand tools", "roles": ["Assembly Line Worker"]},
    {"query": "HVAC tech with EPA 608 for commercial repairs", "roles": ["HVAC Technician"]},
    {"query": "framing carpenter for residential construction", "roles": ["Carpenter"]},
    {"query": "groundskeeper for lawn care and irrigation", "roles": ["Landscaper"]},
    {"query": "airline pilot with a type rating for a Boeing 737", "roles": []},
    {"query": "pediatric neurosurgeon for a children's hospital", "roles": []},
)  # fmt: skip


def write_queries(path: Path) -> int:
    """Write the labelled queries as a JSON array; returns how many."""
    Path(path).write_text(json.dumps(list(LABELLED_QUERIES), indent=1) + "\n")
    return len(LABELLED_QUERIES)
