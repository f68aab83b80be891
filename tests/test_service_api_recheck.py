"""Re-check verdicts over HTTP against a real server and line: recording, the queue, the summary."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gaikan.service.settings import ApiKey, Role
from tests.conftest import replay_settings
from tests.live_server import LiveServer, wait_decided, wait_pictures

COUNT = 15  # 6 rejects (scratches and cracks), 9 passes
OPERATOR = ApiKey(name="olga", key="operator-key-for-tests-0001", role=Role.OPERATOR)
PLC = ApiKey(name="plc1", key="plc-key-for-tests-000000001", role=Role.PLC)
ENGINEER = ApiKey(name="erik", key="engineer-key-for-tests-0001", role=Role.ENGINEER)


def key(api_key: ApiKey) -> str:
    return api_key.key.get_secret_value()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, template_model_file: Path):
    root = tmp_path_factory.mktemp("recheck")
    settings = replay_settings(
        root,
        COUNT,
        template_model_file,
        fps=60,
        loop=False,
        camera_id="cam",
        keep_pass_fraction=1.0,
        api_keys=[OPERATOR, PLC, ENGINEER],
        defect_types={"*": ["scratch", "crack", "spot"]},
    )
    with LiveServer(settings) as live, live.client(key(OPERATOR)) as client:
        wait_decided(client, COUNT)
        wait_pictures(client, COUNT)  # every part's pictures are kept (keep_pass_fraction 1)
        yield live


def _seqs(client, decision: str) -> list[int]:
    items = client.get("/api/v1/results", params={"decision": decision, "limit": 100}).json()["items"]
    return sorted(item["seq"] for item in items)


def test_a_verdict_is_recorded_shown_on_the_result_and_audited(server: LiveServer) -> None:
    with server.client(key(OPERATOR)) as client:
        seq = _seqs(client, "reject")[0]
        first = client.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "good", "note": "dust on the lens"})
        assert first.status_code == 200, first.text
        changed = client.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "defective", "defect_type": "scratch"})
        result = client.get(f"/api/v1/results/{seq}").json()
        listed = next(i for i in client.get("/api/v1/results", params={"limit": 100}).json()["items"] if i["seq"] == seq)
        audit = client.get("/api/v1/audit", params={"action": "recheck.set"}).json()
    assert changed.status_code == 200
    assert result["recheck"]["verdict"] == "defective" and result["recheck"]["defect_type"] == "scratch"
    assert result["recheck"]["checked_by"] == "olga" and result["recheck"]["exported_at"] is None
    assert datetime.fromisoformat(result["recheck"]["checked_at"]) > datetime.now(UTC) - timedelta(minutes=5)
    assert listed["recheck"] == result["recheck"]
    mine = [entry for entry in audit if entry["target"] == f"result {seq}"]
    assert [entry["new"]["verdict"] for entry in mine] == ["defective", "good"], "newest first, both kept"
    assert mine[0]["old"]["verdict"] == "good" and mine[0]["old"]["note"] == "dust on the lens"
    assert mine[1]["old"] is None and mine[0]["actor"] == "olga"


def test_bad_verdicts_are_refused_with_a_reason(server: LiveServer) -> None:
    with server.client(key(OPERATOR)) as client:
        seq = _seqs(client, "reject")[1]
        cases = {
            "unknown part": client.put("/api/v1/results/99999/recheck", json={"verdict": "good"}),
            "unknown verdict": client.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "maybe"}),
            "good with a type": client.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "good", "defect_type": "crack"}),
            "type not listed": client.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "defective", "defect_type": "dent"}),
            "type not a name": client.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "defective", "defect_type": "../x"}),
            "extra field": client.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "good", "score": 1}),
            "note too long": client.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "good", "note": "x" * 1001}),
        }
        missing = client.get(f"/api/v1/results/{seq}/recheck")
        types = client.get("/api/v1/recheck/defect-types", params={"model_version": "t1"}).json()
    with server.client(key(PLC)) as plc, server.client() as anonymous:
        forbidden = plc.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "good"})
        unauthenticated = anonymous.put(f"/api/v1/results/{seq}/recheck", json={"verdict": "good"})
    assert cases.pop("unknown part").status_code == 404
    assert cases.pop("type not listed").json()["detail"][0]["msg"].startswith("unknown defect type 'dent'")
    assert all(response.status_code == 422 for response in cases.values()), {k: r.text for k, r in cases.items()}
    assert missing.status_code == 404, "nothing recorded by the refused requests"
    assert forbidden.status_code == 403 and unauthenticated.status_code == 401
    assert types == {"model_version": "t1", "defect_types": ["scratch", "crack", "spot"]}


def test_queue_summary_and_csv_follow_the_verdicts(server: LiveServer) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    with server.client(key(ENGINEER)) as client:
        rejects, passes = _seqs(client, "reject"), _seqs(client, "pass")
        before = client.get("/api/v1/recheck/queue", params={"since": start.isoformat(), "limit": 2}).json()
        # Four rejects checked: two defective (one crack, one untyped), two good; one pass found defective.
        verdicts = [
            (rejects[2], {"verdict": "defective", "defect_type": "crack"}),
            (rejects[3], {"verdict": "defective"}),
            (rejects[4], {"verdict": "good"}),
            (rejects[5], {"verdict": "good"}),
            (passes[0], {"verdict": "defective", "defect_type": "crack"}),
        ]
        for seq, body in verdicts:
            assert client.put(f"/api/v1/results/{seq}/recheck", json=body).status_code == 200
        after = client.get("/api/v1/recheck/queue", params={"since": start.isoformat()}).json()
        summary = client.get("/api/v1/recheck/summary", params={"since": start.isoformat()}).json()
        other_model = client.get("/api/v1/recheck/summary", params={"model": "nope"}).json()
        future = client.get("/api/v1/recheck/summary", params={"since": (start + timedelta(hours=2)).isoformat()}).json()
        backwards = client.get(
            "/api/v1/recheck/summary", params={"since": start.isoformat(), "until": (start - timedelta(hours=1)).isoformat()}
        )
        naive = client.get("/api/v1/recheck/summary", params={"since": "2026-01-01T00:00:00"})
        table = list(csv.reader(io.StringIO(client.get("/api/v1/recheck/summary.csv", params={"since": start.isoformat()}).text)))

    # Rejects 0 and 1 were re-checked by the other tests (or are still pending when run alone).
    assert before["pending"] >= 4 and len(before["items"]) == 2
    assert [item["seq"] for item in before["items"]] == sorted(item["seq"] for item in before["items"])
    assert all(item["decision"] != "pass" and item["recheck"] is None for item in after["items"])
    assert {item["seq"] for item in after["items"]}.isdisjoint(seq for seq, _ in verdicts)
    assert after["pending"] == before["pending"] - 4

    total = summary["total"]
    assert (total["inspected"], total["passed"], total["flagged"]) == (COUNT, 9, 6)
    assert total["confirmed_defective"] + total["overkill"] + total["pending"] == 6
    assert total["escapes"] == 1 and total["overkill"] >= 2 and total["confirmed_defective"] >= 2
    assert [m["model_version"] for m in summary["by_model"]] == ["t1"]
    by_type = {row["defect_type"]: row for row in summary["by_defect_type"]}
    assert by_type["crack"] == {"defect_type": "crack", "confirmed_defective": 1, "escapes": 1}
    assert by_type[None]["confirmed_defective"] == 1
    assert "Escapes cannot be known from the line alone" in summary["note"]
    assert other_model["total"]["inspected"] == 0 and future["total"]["inspected"] == 0
    assert backwards.status_code == 422 and naive.status_code == 422

    assert table[0][:3] == ["group", "key", "inspected"]
    rows = {(row[0], row[1]): row[2:] for row in table[1:] if len(row) > 2}
    assert rows[("total", "")] == [str(total[k]) for k in ("inspected", "passed", "flagged", "confirmed_defective", "overkill", "pending", "escapes")]
    assert rows[("defect_type", "crack")] == ["2", "1", "1", "1", "0", "0", "1"]  # one reject confirmed, one escape
    assert table[-1][0] == "note"
