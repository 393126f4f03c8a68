"""Tamper with a real store in every listed way; verify names the first bad entry and what happened."""

from __future__ import annotations

import json

import pytest
from billy_audit.chain import canonical, entry_mac, link_hash
from billy_audit.keys import load_keys
from billy_audit.verify import Verifier
from pydantic import SecretStr

from tests.audit.helpers import HMAC_V1, HMAC_V2, SIGNING_KEY, Tamper, draft, fill, make_log

pytestmark = pytest.mark.anyio

COUNT = 350  # checkpoints (every 100) at 100, 200, 300; entries 301..350 are the unsigned tail


async def verify(log):
    return await Verifier(await log.ready(), log.keys).run()


@pytest.fixture
async def chain(store_log):
    await fill(store_log, COUNT, batch=50)
    report = await verify(store_log)
    assert report.status == "intact", report
    assert (report.entries_checked, report.first_seq, report.last_seq) == (COUNT, 1, COUNT)
    assert report.last_checkpoint_seq == 300 and report.unprotected_tail == 50
    return store_log


async def assert_tampered(log, kind, first_bad_seq):
    report = await verify(log)
    assert report.status == "tampered", report
    assert report.exit_code == 1
    assert report.problem.kind == kind, report.problem
    assert report.problem.first_bad_seq == first_bad_seq, report.problem
    return report.problem.message


async def test_an_edited_body_is_modified(chain):
    tamper = Tamper(chain)
    row = await tamper.row(120)
    body = row.body.replace('"amount":"12.50"', '"amount":"99.50"')
    assert body != row.body
    await tamper.sql(f"UPDATE {tamper.entries} SET body = :body WHERE seq = 120", body=body)
    message = await assert_tampered(chain, "modified", 120)
    assert "does not match its hash" in message


async def test_an_edited_column_is_modified(chain):
    tamper = Tamper(chain)
    await tamper.sql(f"UPDATE {tamper.entries} SET tool = 'create_invoice' WHERE seq = 7")
    message = await assert_tampered(chain, "modified", 7)
    assert "tool column" in message


async def test_an_edit_with_the_chain_rehashed_without_the_key_is_modified(chain):
    tamper = Tamper(chain)
    await tamper.rewrite(330, lambda body: body.replace('"outcome":"ok"', '"outcome":"forbidden"'))
    message = await assert_tampered(chain, "modified", 330)
    assert "HMAC" in message


async def test_a_deleted_entry(chain):
    tamper = Tamper(chain)
    await tamper.sql(f"DELETE FROM {tamper.entries} WHERE seq = 150")
    assert "entry 150 is missing" in await assert_tampered(chain, "deleted", 150)


async def test_a_deleted_entry_with_the_rest_renumbered(chain):
    tamper = Tamper(chain)
    await tamper.sql(f"DELETE FROM {tamper.entries} WHERE seq BETWEEN 150 AND 152")
    await tamper.shift(153, -3)
    message = await assert_tampered(chain, "deleted", 150)
    assert "150..152" in message and "renumbered" in message


async def test_the_first_entries_deleted(chain):
    tamper = Tamper(chain)
    await tamper.sql(f"DELETE FROM {tamper.entries} WHERE seq <= 2")
    assert "entries 1..2 are missing" in await assert_tampered(chain, "deleted", 1)


async def test_a_forged_entry_inserted_in_the_middle(chain):
    tamper = Tamper(chain)
    genuine = await tamper.row(80)
    await tamper.shift(80, 1)
    body = json.loads(genuine.body)
    body["tool"] = "create_invoice"
    text = canonical(body)
    forged_hash = link_hash(genuine.prev_hash, text)
    await tamper.insert(
        {
            **genuine._mapping,
            "seq": 80,
            "tool": "create_invoice",
            "body": text,
            "hash": forged_hash,
            "hmac": entry_mac(b"not the key" * 3, forged_hash),
        }
    )
    message = await assert_tampered(chain, "inserted", 80)
    assert "genuine entry 80 follows at seq 81" in message


async def test_a_forged_entry_appended_at_the_tail(chain):
    tamper = Tamper(chain)
    last = await tamper.row(COUNT)
    body = json.loads(last.body)
    body.update(seq=COUNT + 1, correlation_id="forged")
    text = canonical(body)
    digest = link_hash(last.hash, text)
    await tamper.insert(
        {
            **last._mapping,
            "seq": COUNT + 1,
            "correlation_id": "forged",
            "body": text,
            "prev_hash": last.hash,
            "hash": digest,
            "hmac": "0" * 64,
        }
    )
    assert "without the audit key" in await assert_tampered(chain, "inserted", COUNT + 1)


async def test_a_copy_of_an_old_entry_appended(chain):
    tamper = Tamper(chain)
    old = await tamper.row(10)
    await tamper.insert({**old._mapping, "seq": COUNT + 1})
    assert "copy of entry 10" in await assert_tampered(chain, "inserted", COUNT + 1)


async def test_two_entries_swapped(chain):
    tamper = Tamper(chain)
    await tamper.sql(f"UPDATE {tamper.entries} SET seq = -1 WHERE seq = 200")
    await tamper.sql(f"UPDATE {tamper.entries} SET seq = 200 WHERE seq = 201")
    await tamper.sql(f"UPDATE {tamper.entries} SET seq = 201 WHERE seq = -1")
    message = await assert_tampered(chain, "reordered", 200)
    assert "entry 200 is stored at seq 201" in message


async def test_a_truncated_tail_covered_by_a_checkpoint(chain):
    tamper = Tamper(chain)
    await tamper.sql(f"DELETE FROM {tamper.entries} WHERE seq > 250")
    message = await assert_tampered(chain, "truncated", 251)
    assert "251..300" in message


async def test_a_truncated_tail_after_the_last_checkpoint_cannot_be_proven(chain):
    """The documented limit: entries after the last checkpoint are covered by no signature."""
    tamper = Tamper(chain)
    await tamper.sql(f"DELETE FROM {tamper.entries} WHERE seq > 320")
    report = await verify(chain)
    assert report.status == "intact" and report.last_seq == 320 and report.unprotected_tail == 20


async def test_a_forged_checkpoint(chain):
    tamper = Tamper(chain)
    await tamper.sql(f"UPDATE {tamper.checkpoints} SET hash = :h WHERE seq = 200", h="ab" * 32)
    assert "signature" in await assert_tampered(chain, "checkpoint", 200)


async def test_a_chain_rebuilt_with_the_hmac_key_is_caught_by_the_signed_checkpoint(chain):
    """An insider with the HMAC key (but not the signing key) rewrites entry 120 and everything after."""
    tamper = Tamper(chain)
    await tamper.rewrite(
        120, lambda body: body.replace('"limit":', '"limit":1'), key=chain.keys.hmac.current.secret
    )
    message = await assert_tampered(chain, "checkpoint", 101)
    assert "101..200" in message


async def test_an_unknown_key_version_cannot_be_checked(chain, tmp_path):
    without_v1 = load_keys(
        hmac_keys=HMAC_V2,
        signing_key=SIGNING_KEY,
        signing_key_file=None,
        public_keys=[],
        key_file=tmp_path / "unused.json",
    )
    report = await Verifier(chain.store, without_v1).run()
    assert report.status == "unverifiable" and report.exit_code == 2
    assert report.problem.first_bad_seq is None and "'v1'" in report.problem.message


async def test_rotated_keys_keep_old_entries_verifiable(chain):
    chain.settings.hmac_keys = SecretStr(f"{HMAC_V2},{HMAC_V1}")
    chain._keys = None
    await chain.append(draft(999))
    report = await verify(chain)
    assert report.status == "intact" and report.last_seq == COUNT + 1
    assert (await Tamper(chain).row(COUNT + 1)).key_version == "v2"


async def test_a_chain_verifies_at_a_few_thousand_entries(store_log):
    await fill(store_log, 5000, batch=1000)
    report = await verify(store_log)
    assert report.status == "intact" and report.entries_checked == 5000


async def test_the_checkpoint_file_catches_a_tail_cut_with_its_checkpoints(sqlite_url, tmp_path):
    log = make_log(sqlite_url, checkpoint_every=100, checkpoint_file=tmp_path / "checkpoints.jsonl")
    await fill(log, COUNT, batch=50)
    tamper = Tamper(log)
    await tamper.sql(f"DELETE FROM {tamper.entries} WHERE seq > 150")
    await tamper.sql(f"DELETE FROM {tamper.checkpoints} WHERE seq > 150")
    assert (await verify(log)).status == "intact"  # the database alone cannot tell
    report = await Verifier(log.store, log.keys, extra_checkpoints=log.mirrored_checkpoints()).run()
    assert (report.status, report.problem.kind, report.problem.first_bad_seq) == (
        "tampered",
        "truncated",
        151,
    )
    await log.aclose()
