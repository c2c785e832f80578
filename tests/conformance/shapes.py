"""Every query shape Ionbase's store, importer and job runner emit, with documents to run them on.

The API's own shapes live in test_api_queries.py. Each shape is run on the embedded nx-27017
server and on mongomock (the oracle), and on a real MongoDB when MONGODB_URI is set.
"""

from __future__ import annotations

DOCS = {
    "properties": [
        {"_id": "p1", "sample": "s1", "name": "ionic_conductivity", "value": 1.2e-4, "temperature_k": 298.15, "temperature_c": 25.0,
         "origin": "reported", "elements": ["Cl", "In", "Na", "Zr"], "family": "halide", "batch_id": "b1",
         "synthesis": {"milling_time_h": 24.75, "max_rpm": 500.0, "annealed": False},
         "provenance": {"job": None, "inputs": []}},
        {"_id": "p2", "sample": "s1", "name": "ionic_conductivity", "value": 4.0e-4, "temperature_k": 333.15, "temperature_c": 60.0,
         "origin": "reported", "elements": ["Cl", "In", "Na", "Zr"], "family": "halide", "batch_id": "b1",
         "synthesis": {"milling_time_h": 24.75, "max_rpm": 500.0, "annealed": False}},
        {"_id": "p3", "sample": "s2", "name": "ionic_conductivity", "value": 5.5e-7, "temperature_k": 373.15, "temperature_c": 100.0,
         "origin": "measured", "elements": ["As", "Mg", "N"], "family": "antiperovskite", "batch_id": "b2",
         "synthesis": {"milling_time_h": 12.0, "max_rpm": 300.0, "annealed": True, "max_anneal_c": 600.0}},
        {"_id": "p4", "sample": "s2", "name": "activation_energy", "value": 0.3, "origin": "derived",
         "elements": ["As", "Mg", "N"], "family": "antiperovskite",
         "synthesis": {"milling_time_h": 12.0, "annealed": True, "max_anneal_c": 600.0},
         "provenance": {"job": "arrhenius", "inputs": ["p3", "p5"]}, "stale": True},
        {"_id": "p6", "sample": "s2", "name": "ionic_conductivity", "value": 6.1e-7, "temperature_k": 373.15, "temperature_c": 100.0,
         "origin": "derived", "elements": ["As", "Mg", "N"], "family": "antiperovskite",
         "synthesis": {"milling_time_h": 12.0, "annealed": True, "max_anneal_c": 600.0},
         "provenance": {"job": "eis", "inputs": ["m1", "m1:0"]}, "stale": False},
        {"_id": "p5", "sample": "s3", "name": "ionic_conductivity", "value": 9.78e-9, "temperature_k": 298.15, "temperature_c": 25.0,
         "origin": "reported", "elements": ["B", "C", "H", "Na"], "family": "closo-borate", "batch_id": "b3",
         "synthesis": {"milling_time_h": 6.0, "annealed": False}},
    ],
    "structures": [
        {"_id": "st1", "sample": "s2", "batch_id": "b2", "phases": [
            {"name": "Mg3AsN", "lattice": {"a": {"value": 4.2307}}, "space_group_number": 221},
            {"name": "MgO", "space_group_number": 225}]},
        {"_id": "st2", "sample": "s1", "batch_id": "b1", "phases": [{"name": "Na2.5In0.5Zr0.5Cl6", "space_group_number": 14}]},
    ],
    "routes": [
        {"_id": "r1", "steps": [{"order": 0, "type": "ball_milling", "params": {"rpm": 500.0, "duration": 24.75}}],
         "summary": {"step_types": ["ball_milling"], "milling_time_h": 24.75}},
        {"_id": "r2", "steps": [{"order": 0, "type": "ball_milling", "params": {"rpm": 300.0, "duration": 12.0}},
                                {"order": 1, "type": "annealing", "params": {"temperature": 873.15, "duration": 12.0}}],
         "summary": {"step_types": ["annealing", "ball_milling"], "milling_time_h": 12.0, "max_anneal_c": 600.0}},
    ],
    "import_batches": [
        {"_id": "b1", "status": "committed"}, {"_id": "b2", "status": "pending"}, {"_id": "b3", "status": "rolled_back"},
    ],
    "measurement_arrays": [
        {"_id": "m1:1", "measurement": "m1", "chunk": 1, "arrays": {"frequency": [10.0]}},
        {"_id": "m1:0", "measurement": "m1", "chunk": 0, "arrays": {"frequency": [1e6, 1e5]}},
        {"_id": "m2:0", "measurement": "m2", "chunk": 0, "arrays": {"frequency": [1.0]}},
    ],
    "job_items": [
        {"_id": "arrhenius:s1", "job": "arrhenius", "item": "s1", "sample": "s1", "outputs": ["p4"]},
        {"_id": "eis:m1", "job": "eis", "item": "m1", "sample": "s2", "outputs": []},
    ],
}

# (name, collection, operation, arguments)
SHAPES = [
    ("id equality", "properties", "find", {"filter": {"_id": "p3"}}),
    ("id $in", "properties", "find", {"filter": {"_id": {"$in": ["p1", "p5", "nope"]}}}),
    ("id $in with projection", "properties", "find", {"filter": {"_id": {"$in": ["p1", "p2"]}}, "projection": {"_id": 1, "batch_id": 1}}),
    ("visible: batch $nin (missing field matches)", "properties", "find", {"filter": {"batch_id": {"$nin": ["b2", "b3"]}}}),
    ("visible: $and with batch $nin", "properties", "find",
     {"filter": {"$and": [{"name": "ionic_conductivity"}, {"batch_id": {"$nin": ["b2", "b3"]}}]}}),
    ("batch status $in", "import_batches", "find", {"filter": {"status": {"$in": ["pending", "failed", "rolled_back"]}}}),
    ("arrhenius inputs", "properties", "find",
     {"filter": {"name": {"$in": ["ionic_conductivity", "total_conductivity"]}, "origin": {"$in": ["reported", "measured"]},
                 "temperature_k": {"$gt": 0}, "sample": {"$in": ["s1", "s2"]}}}),
    ("OPTIMADE: transport properties of the structures' samples", "properties", "find",
     {"filter": {"name": {"$in": ["ionic_conductivity", "activation_energy"]}, "sample": {"$in": ["s1", "s2", "s9"]}}}),
    ("arrhenius inputs from the eis job", "properties", "find",
     {"filter": {"name": {"$in": ["ionic_conductivity"]}, "temperature_k": {"$gt": 0}, "origin": "derived", "provenance.job": "eis"}}),
    ("range on nested sub-document path", "properties", "find",
     {"filter": {"synthesis.milling_time_h": {"$gte": 4}, "synthesis.annealed": False}}),
    ("range on nested path, lte", "properties", "find", {"filter": {"synthesis.max_anneal_c": {"$lte": 600}}}),
    ("array element equality", "properties", "find", {"filter": {"elements": "Na"}}),
    ("array $all", "properties", "find", {"filter": {"elements": {"$all": ["Na", "Cl"]}}}),
    ("array $in", "properties", "find", {"filter": {"elements": {"$in": ["Mg", "B"]}}}),
    ("$elemMatch with $exists in a list of sub-documents", "structures", "find",
     {"filter": {"phases": {"$elemMatch": {"lattice.a": {"$exists": True}}}}}),
    ("$elemMatch with range in a list of sub-documents", "routes", "find",
     {"filter": {"steps": {"$elemMatch": {"type": "ball_milling", "params.rpm": {"$gte": 400}}}}}),
    ("provenance inputs $in (stale marking)", "properties", "find",
     {"filter": {"origin": "derived", "provenance.inputs": {"$in": ["p3"]}}}),
    ("stale outputs of a job (analyze recomputes their items)", "properties", "find",
     {"filter": {"origin": "derived", "stale": True, "provenance.job": "arrhenius"}, "projection": {"_id": 1}}),
    ("stale outputs of a job for some samples", "properties", "find",
     {"filter": {"origin": "derived", "stale": True, "provenance.job": "arrhenius", "sample": {"$in": ["s2", "s3"]}},
      "projection": {"_id": 1}}),
    ("sort and limit", "properties", "find", {"filter": {"name": "ionic_conductivity"}, "sort": [("value", -1)], "limit": 2}),
    ("array chunks sorted", "measurement_arrays", "find", {"filter": {"measurement": "m1"}, "sort": [("chunk", 1)]}),
    ("job states by job and sample", "job_items", "find", {"filter": {"job": "arrhenius", "sample": {"$in": ["s1"]}}}),
    ("count with filter", "properties", "count", {"filter": {"family": "halide"}}),
    ("group by family", "properties", "aggregate",
     {"pipeline": [{"$match": {"name": "ionic_conductivity"}}, {"$group": {"_id": "$family", "n": {"$sum": 1}, "max": {"$max": "$value"}}},
                   {"$sort": {"_id": 1}}]}),
    ("lookup sample routes", "properties", "aggregate",
     {"pipeline": [{"$match": {"_id": {"$in": ["p1", "p3"]}}},
                   {"$lookup": {"from": "structures", "localField": "sample", "foreignField": "sample", "as": "structures"}},
                   {"$project": {"_id": 1, "n": {"$size": "$structures"}}}, {"$sort": {"_id": 1}}]}),
]
