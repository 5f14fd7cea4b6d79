"""Label printers and print jobs (SPEC 6.4), against a fake printer on 127.0.0.1."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, LabelRender
from pharmacy.models.printing import PrintJob
from tests.factories_dispensing import make_labelled_fill, scans_for
from tests.factories_fills import make_batch, make_formulation
from tests.fake_printer import FakePrinter, SilentPrinter, closed_port

BOTH = ["prescription", "vial", "batch"]


def add_printer(client, api, name="Counter Zebra", port=9100, dpi=203, types=BOTH, **extra):
    body = {"name": name, "host": "127.0.0.1", "port": port, "dpi": dpi, "label_types": types}
    body.update(extra)
    return client.post("/api/v1/printers", json=body, headers=api("admin"))


def make_labelled_batch(app, vials: int) -> str:
    """Create a released batch with a GTIN, and the pharmacy details its labels need."""
    from pharmacy.services.settings import get_settings

    with app.app_context(), write_intent():
        settings = get_settings()
        settings.name = "Riverside Compounding Pharmacy"
        settings.phone = "(207) 555-0142"
        lot = make_batch(make_formulation(gtin="09501101530003"), vials=vials).lot_number
        db.session.remove()
    return lot


def make_fill(app, **kwargs):
    with app.app_context(), write_intent():
        fill = make_labelled_fill(**kwargs)
        result = fill.id, scans_for(fill)
        db.session.remove()
    return result


def renders(app, fill_id):
    with app.app_context():
        return db.session.execute(
            select(LabelRender.output, LabelRender.reprint).where(
                LabelRender.entity == "fill", LabelRender.entity_id == str(fill_id)
            )
        ).all()


def test_fill_labels_reach_the_printer_byte_for_byte_and_count_as_printed(app, client, api):
    fill_id, _ = make_fill(app)
    with FakePrinter() as printer:
        created = add_printer(client, api, port=printer.port)
        assert created.status_code == 201, created.get_json()
        assert created.get_json()["label_types"] == BOTH
        response = client.post(
            f"/api/v1/fills/{fill_id}/print",
            json={"printer": "Counter Zebra"},
            headers=api("technician"),
        )
        assert response.status_code == 202, response.get_json()
        job = response.get_json()
        assert job["status"] == "sent" and job["attempts"] == 1 and job["error"] is None
        [received] = printer.wait_for(1)
    with app.app_context():
        stored = db.session.get(PrintJob, job["id"])
        assert received == stored.payload
        assert stored.labels == received.count(b"^XA") == job["labels"]
    # The same labels as the ZPL download at the printer's dpi, byte for byte.
    download = client.get(
        f"/api/v1/fills/{fill_id}/label.zpl?dpi=203&reason=compare", headers=api("technician")
    )
    assert download.status_code == 200
    assert download.get_data() == received
    assert renders(app, fill_id) == [("zpl203", False), ("zpl203", True)]
    assert (
        client.get(f"/api/v1/print-jobs/{job['id']}", headers=api("pharmacist")).get_json()[
            "status"
        ]
        == "sent"
    )


def test_a_second_print_is_a_reprint_and_needs_a_reason(app, client, api):
    fill_id, _ = make_fill(app)
    with FakePrinter() as printer:
        add_printer(client, api, port=printer.port)
        url = f"/api/v1/fills/{fill_id}/print"
        assert (
            client.post(
                url, json={"printer": "Counter Zebra"}, headers=api("technician")
            ).status_code
            == 202
        )
        again = client.post(url, json={"printer": "Counter Zebra"}, headers=api("technician"))
        assert again.status_code == 422
        assert "reason" in again.get_json()["error"]["fields"]
        ok = client.post(
            url, json={"printer": "Counter Zebra", "reason": "jammed"}, headers=api("technician")
        )
        assert ok.status_code == 202 and ok.get_json()["reason"] == "jammed"
        assert len(printer.wait_for(2)) == 2
    assert renders(app, fill_id) == [("zpl203", False), ("zpl203", True)]


def test_refused_connection_fails_the_job_marks_nothing_and_a_retry_sends_it(app, client, api):
    fill_id, scans = make_fill(app)
    port = closed_port()
    add_printer(client, api, port=port)
    response = client.post(
        f"/api/v1/fills/{fill_id}/print",
        json={"printer": "Counter Zebra"},
        headers=api("technician"),
    )
    assert response.status_code == 202
    job = response.get_json()
    assert job["status"] == "failed" and "refused" in job["error"]
    assert renders(app, fill_id) == []
    # Nothing was printed, so the final check is still refused.
    check = client.post(
        f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=api("pharmacist")
    )
    assert check.status_code == 409 and "Print the labels" in check.get_json()["error"]["message"]
    with FakePrinter(port) as printer:
        retried = client.post(f"/api/v1/print-jobs/{job['id']}/retry", headers=api("technician"))
        assert retried.status_code == 202, retried.get_json()
        body = retried.get_json()
        assert body["status"] == "sent" and body["attempts"] == 2 and body["error"] is None
        [received] = printer.wait_for(1)
        assert received.startswith(b"^XA") or b"^XA" in received[:200]
    assert renders(app, fill_id) == [("zpl203", False)]
    again = client.post(f"/api/v1/print-jobs/{job['id']}/retry", headers=api("technician"))
    assert again.status_code == 409
    with app.app_context():
        actions = (
            db.session.execute(
                select(AuditEvent.action).where(AuditEvent.action.like("print_job.%"))
            )
            .scalars()
            .all()
        )
    assert actions == [
        "print_job.queued",
        "print_job.failed",
        "print_job.retried",
        "print_job.sent",
    ]
    assert (
        client.post(
            f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=api("pharmacist")
        ).status_code
        == 200
    )


def test_a_printer_that_does_not_answer_times_out(app, client, api):
    app.config["PRINTER_TIMEOUT_SECONDS"] = 0.5
    fill_id, _ = make_fill(app)
    with SilentPrinter() as printer:
        add_printer(client, api, port=printer.port)
        response = client.post(
            f"/api/v1/fills/{fill_id}/print",
            json={"printer": "Counter Zebra"},
            headers=api("technician"),
        )
    assert response.status_code == 202
    assert response.get_json()["status"] == "failed"
    assert "timed out" in response.get_json()["error"]
    assert renders(app, fill_id) == []


def test_batch_labels_go_to_the_printer(app, client, api):
    lot = make_labelled_batch(app, 4)
    with FakePrinter() as printer:
        add_printer(client, api, port=printer.port, dpi=300)
        response = client.post(
            f"/api/v1/batches/{lot}/print",
            json={"printer": "Counter Zebra"},
            headers=api("technician"),
        )
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["status"] == "sent" and response.get_json()["labels"] == 5
        [received] = printer.wait_for(1)
    assert received.count(b"^XA") == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"printer": "Nope"}, "printer"),
        ({"printer": ""}, "printer"),
        ({}, "printer"),
        ({"printer": "Vials only"}, "printer"),
        ({"printer": "Counter Zebra", "reason": 5}, "reason"),
        ({"printer": "Counter Zebra", "extra": 1}, "extra"),
    ],
)
def test_print_requests_that_cannot_be_printed_say_why(app, client, api, body, field):
    fill_id, _ = make_fill(app)
    add_printer(client, api)
    add_printer(client, api, name="Vials only", types=["vial"])
    response = client.post(f"/api/v1/fills/{fill_id}/print", json=body, headers=api("technician"))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert renders(app, fill_id) == []


def test_print_errors_404_and_roles(app, client, api):
    add_printer(client, api)
    body = {"printer": "Counter Zebra"}
    assert (
        client.post("/api/v1/fills/999999/print", json=body, headers=api("technician")).status_code
        == 404
    )
    assert (
        client.post("/api/v1/batches/NOPE/print", json=body, headers=api("technician")).status_code
        == 404
    )
    assert client.get("/api/v1/print-jobs/999999", headers=api("technician")).status_code == 404
    assert (
        client.post("/api/v1/print-jobs/999999/retry", headers=api("technician")).status_code == 404
    )
    assert (
        client.post("/api/v1/fills/1/print", json=body, headers=api("prescriber")).status_code
        == 403
    )
    assert client.get("/api/v1/printers", headers=api("technician")).status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"host": "not a host!"}, "host"),
        ({"host": ""}, "host"),
        ({"port": 70000}, "port"),
        ({"port": 0}, "port"),
        ({"dpi": 600}, "dpi"),
        ({"label_types": ["envelope"]}, "label_types[0]"),
        ({"label_types": []}, "label_types"),
    ],
)
def test_printer_fields_are_checked(app, client, api, changes, field):
    response = add_printer(client, api, **changes)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_printers_list_default_port_and_duplicate_name(app, client, api):
    body = {
        "name": "Back office",
        "host": "zebra-2.local",
        "dpi": 300,
        "label_types": ["batch", "vial"],
    }
    created = client.post("/api/v1/printers", json=body, headers=api("admin"))
    assert created.status_code == 201
    assert created.get_json()["port"] == 9100
    assert created.get_json()["label_types"] == ["vial", "batch"]
    assert client.post("/api/v1/printers", json=body, headers=api("admin")).status_code == 409
    listed = client.get("/api/v1/printers", headers=api("admin")).get_json()["printers"]
    assert [p["name"] for p in listed] == ["Back office"]
    assert client.post("/api/v1/printers", json=body, headers=api("pharmacist")).status_code == 403


def test_admin_page_adds_a_printer(app, client, as_user):
    client = as_user("admin")
    page = client.get("/admin/printers")
    assert page.status_code == 200 and "Add a printer" in page.get_data(as_text=True)
    bad = client.post(
        "/admin/printers", data={"name": "Z", "host": "bad host", "port": "9100", "dpi": "203"}
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "is not a host name" in text
    done = client.post(
        "/admin/printers",
        data={
            "name": "Counter",
            "host": "10.0.0.7",
            "port": "",
            "dpi": "300",
            "label_types": ["vial", "prescription"],
        },
        follow_redirects=True,
    )
    assert done.status_code == 200 and "Printer Counter added." in done.get_data(as_text=True)
    assert "10.0.0.7" in done.get_data(as_text=True)


def test_fill_and_batch_pages_print_to_a_printer_and_retry(app, client, api, as_user):
    fill_id, _ = make_fill(app)
    port = closed_port()
    add_printer(client, api, port=port)
    client = as_user("technician")
    page = client.get(f"/fills/{fill_id}").get_data(as_text=True)
    assert "Counter Zebra" in page and "Send to printer" in page
    failed = client.post(
        f"/fills/{fill_id}/print", data={"printer": "Counter Zebra"}, follow_redirects=True
    )
    text = failed.get_data(as_text=True)
    assert "refused the connection" in text and "Retry" in text
    with app.app_context():
        job_id = db.session.execute(select(PrintJob.id)).scalar_one()
    with FakePrinter(port) as printer:
        retried = client.post(f"/fills/print-jobs/{job_id}/retry", follow_redirects=True)
        assert "sent to Counter Zebra" in retried.get_data(as_text=True)
        assert len(printer.wait_for(1)) == 1
    assert renders(app, fill_id) == [("zpl203", False)]
    unknown = client.post(
        f"/fills/{fill_id}/print", data={"printer": "Ghost"}, follow_redirects=True
    )
    assert "There is no printer named" in unknown.get_data(as_text=True)
    lot = make_labelled_batch(app, 3)
    batch_page = client.get(f"/compounding/batches/{lot}").get_data(as_text=True)
    assert "Vial labels (PDF)" in batch_page and "Send to printer" in batch_page
    with FakePrinter(port) as printer:
        sent = client.post(
            f"/compounding/batches/{lot}/print",
            data={"printer": "Counter Zebra"},
            follow_redirects=True,
        )
        assert "sent to Counter Zebra" in sent.get_data(as_text=True)
        [received] = printer.wait_for(1)
        assert received.count(b"^XA") == 4
