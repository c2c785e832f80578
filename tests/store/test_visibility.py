"""Batch states cached with a token file (store.visibility): no round trip per read, never stale."""

from __future__ import annotations

import subprocess
import sys

import mongomock
import pymongo
import pytest

from ionbase.errors import StoreUnavailable
from ionbase.store import claims, open_store
from ionbase.store.visibility import TOKEN_NAME, StatesToken, states_changed, token_for


@pytest.fixture()
def loaded(store):
    store.db.import_batches.insert_many([{"_id": "b-ok", "status": "committed"}, {"_id": "b-pend", "status": "pending"}])
    store.db.properties.insert_many([
        {"_id": "p1", "name": "ionic_conductivity", "value": 1e-3, "batch_id": "b-ok"},
        {"_id": "p2", "name": "ionic_conductivity", "value": 2e-3, "batch_id": "b-pend"},
    ])
    return store


def _page(st):
    return [d["_id"] for d in st.properties.page({"name": "ionic_conductivity"}, [("_id", 1)], 10)]


def _count_states_reads(st, monkeypatch) -> list:
    calls = []
    real = st.batch_view
    monkeypatch.setattr(st, "batch_view", lambda **kw: calls.append(1) or real(**kw))
    return calls


def test_the_token_is_the_servers_data_dir_for_uri_and_embedded_clients(store, base_settings):
    """The tests reach the session's embedded server through a URI: the token is found from the
    server's command line, and it is the same file an embedded-mode store of that data dir uses."""
    found = token_for(store.client)
    assert found is not None and found.path == base_settings.data_dir / "mongo" / TOKEN_NAME
    embedded = open_store(base_settings.with_(mongodb_uri=None, db_name=store.db.name), create_indexes=False)
    try:
        assert token_for(embedded.client).path == found.path
    finally:
        embedded.client.close()


def test_the_token_does_not_depend_on_the_host_name_used(store, settings):
    port = settings.mongodb_uri.rsplit(":", 1)[1]
    other = pymongo.MongoClient(f"mongodb://localhost:{port}", serverSelectionTimeoutMS=5000)
    try:
        assert token_for(other).path == token_for(store.client).path
    finally:
        other.close()


def test_no_token_for_other_servers():
    assert token_for(mongomock.MongoClient()) is None


def test_an_nx_server_of_another_machine_gets_no_cache_and_no_writer(loaded, settings, monkeypatch):
    """A reader never caches states of an nx-27017 server whose data folder it cannot see, and a
    writer there is refused: it could not tell the caches of that machine's readers (review finding)."""
    from ionbase.store import visibility

    monkeypatch.setattr(visibility.platform, "node", lambda: "another-machine")
    fresh = pymongo.MongoClient(settings.mongodb_uri)
    try:
        assert token_for(fresh) is None
        with pytest.raises(StoreUnavailable, match="runs on host"):
            claims.write_batch(fresh[loaded.db.name], "b-pend", {"status": "committed"})
        assert loaded.db.import_batches.find_one({"_id": "b-pend"})["status"] == "pending"
    finally:
        fresh.close()


def test_a_failed_lookup_is_not_remembered():
    """A server that does not answer now (restarting): the reader reads states uncached this time and
    looks again next time; a writer is refused (review finding: a None was kept for the client's life)."""
    down = pymongo.MongoClient("mongodb://127.0.0.1:9", serverSelectionTimeoutMS=200)
    try:
        assert token_for(down) is None
        assert "_ionbase_states_token" not in down.__dict__
        with pytest.raises(StoreUnavailable, match="does not answer"):
            states_changed(down["x"])
    finally:
        down.close()


def test_states_are_read_once_until_the_token_moves(loaded, monkeypatch):
    calls = _count_states_reads(loaded, monkeypatch)
    assert _page(loaded) == ["p1"] and _page(loaded) == ["p1"] and loaded.properties.count({}) == 1
    assert len(calls) == 1
    # a raw state change without the bump that store/ makes is not seen: the cache is really used
    loaded.db.import_batches.update_one({"_id": "b-pend"}, {"$set": {"status": "committed"}})
    assert _page(loaded) == ["p1"] and len(calls) == 1
    states_changed(loaded.db)
    assert _page(loaded) == ["p1", "p2"] and len(calls) == 2


def test_a_state_change_in_another_process_shows_at_the_next_read(loaded, settings):
    assert _page(loaded) == ["p1"]
    code = ("import sys, pymongo; from ionbase.store import claims; "
            "db = pymongo.MongoClient(sys.argv[1])[sys.argv[2]]; "
            "sys.exit(0 if claims.write_batch(db, 'b-pend', {'status': 'committed'}, expect=('pending',)) else 3)")
    subprocess.run([sys.executable, "-c", code, settings.mongodb_uri, settings.db_name], check=True, timeout=60)
    assert _page(loaded) == ["p1", "p2"]


def test_a_whole_read_overlapped_by_a_state_change_starts_over(loaded, monkeypatch):
    """A batch that commits while a page is being read: the page is read again on the new states, so
    it is never a mix of the two."""
    import ionbase.store.collections as collections

    runs = []
    real = collections.find_union

    def overlapped(coll, query, *args):
        runs.append(query)
        out = real(coll, query, *args)
        if len(runs) == 1:  # the commit lands while the first attempt runs
            claims.write_batch(loaded.db, "b-pend", {"status": "committed"}, expect=("pending",))
        return out

    assert _page(loaded) == ["p1"]  # states cached
    monkeypatch.setattr(collections, "find_union", overlapped)
    assert _page(loaded) == ["p1", "p2"]
    assert len(runs) == 2 and "b-pend" in str(runs[0]) and "b-pend" not in str(runs[1])


def test_a_read_under_a_stream_of_state_changes_ends_with_fresh_states(loaded, monkeypatch):
    """While batches keep changing state, a whole read is tried twice on cached states, then once on
    states read from the store right before its query: it is answered, not refused (review finding)."""
    import ionbase.store.collections as collections

    runs = []
    real = collections.find_union

    def busy(*a):
        runs.append(1)
        states_changed(loaded.db)
        return real(*a)

    monkeypatch.setattr(collections, "find_union", busy)
    assert _page(loaded) == ["p1"] and len(runs) == 3


def test_bump_is_atomic_and_never_repeats(tmp_path):
    token = StatesToken(tmp_path)
    assert token.read() == ""
    seen = set()
    for _ in range(100):
        token.bump()
        seen.add(token.read())
    assert len(seen) == 100 and [p.name for p in tmp_path.iterdir()] == [TOKEN_NAME]


def test_an_unreadable_token_falls_back_to_reading_the_states(loaded, monkeypatch, tmp_path):
    """A token that cannot be read (here a folder in its place) costs a round trip per read, never
    a stale answer; a writer that cannot rewrite it is refused before it changes anything."""
    from ionbase.store import visibility

    broken = StatesToken(tmp_path)
    broken.path.mkdir()
    visibility.attach(loaded.client, broken)
    calls = _count_states_reads(loaded, monkeypatch)
    assert _page(loaded) == ["p1"] and _page(loaded) == ["p1"] and len(calls) == 2
    loaded.db.import_batches.update_one({"_id": "b-pend"}, {"$set": {"status": "committed"}})
    assert _page(loaded) == ["p1", "p2"]
    with pytest.raises(StoreUnavailable, match="cannot rewrite the batch-states token"):
        claims.write_batch(loaded.db, "b-ok", {"status": "rolled_back"})
    assert loaded.db.import_batches.find_one({"_id": "b-ok"})["status"] == "committed"
    assert [p.name for p in tmp_path.iterdir()] == [TOKEN_NAME]  # no temporary file left behind
