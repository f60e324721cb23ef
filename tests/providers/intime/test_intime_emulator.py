"""Wire conformance of the InTime emulator over real HTTP (docs/providers/intime.md)."""

from __future__ import annotations

import pytest

from reconciler.sandbox.intime.emulator import SANDBOX_CREDENTIALS, IntimeEmulator

GROUP = '<addgroups><groups><group groupname="{}" /></groups></addgroups>'
REMINDER = (
    "<reminderappointments><reminderappointment><appointmentdate>{date}</appointmentdate>"
    "<organizer_title>Dr</organizer_title><organizer_lastname>Evertsson</organizer_lastname>"
    "<attendant_firstname>Anna</attendant_firstname><attendant_mobile>{mobile}</attendant_mobile>"
    "</reminderappointment></reminderappointments>"
)


def message(
    body: str = "Hej",
    title: str = "Klinik",
    senddate: str | None = "2027-01-10T09:00:00",
    recipients: str = "<recipients><recipient>+46701234567</recipient></recipients>",
    extra: str = "",
) -> str:
    date = f"<senddate>{senddate}</senddate>" if senddate is not None else ""
    return (
        f"<message>{extra}{date}<sendertitle>{title}</sendertitle><body>{body}</body>{recipients}</message>"
    )


def test_missing_credentials_answer_0_error1(raw):
    """A call without user or hash gets 0:ERROR1 with HTTP 200."""
    response = raw.get("contacts/listgroups.ashx", auth={"user": "demo"})
    assert (response.status_code, response.text) == (200, "0:ERROR1")
    assert raw.post("contacts/addgroup.ashx", GROUP.format("A"), auth={}).text == "0:ERROR1"


def test_wrong_hash_or_user_answer_0_error3(raw):
    """An unknown user or a wrong hash gets 0:ERROR3."""
    assert raw.get("nix/list.ashx", auth={"user": "demo", "hash": "wrong"}).text == "0:ERROR3"
    assert raw.post("nix/addnix.ashx", "<x/>", auth={"user": "nobody", "hash": "x" * 40}).text == "0:ERROR3"


def test_empty_body_answers_0_error2(raw):
    """A write call without an XML body gets 0:ERROR2."""
    assert raw.post("contacts/addgroup.ashx", b"").text == "0:ERROR2"


@pytest.mark.parametrize(
    "xml",
    [
        "<addgroups><groups><group groupname='A'></groups>",  # not well-formed
        "<addgroup><groups><group groupname='A' /></groups></addgroup>",  # wrong root
        "<addgroups><Groups><group groupname='A' /></Groups></addgroups>",  # names are case-sensitive
        "<addgroups><groups><group groupname='' /></groups></addgroups>",  # empty name
        '<!DOCTYPE x [<!ENTITY e "boom">]><addgroups><groups><group groupname="&e;" /></groups></addgroups>',
    ],
)
def test_invalid_xml_answers_1_error1(raw, xml):
    """Malformed XML, wrong element names, empty group names and DTD entities fail with 1:ERROR1."""
    assert raw.post("contacts/addgroup.ashx", xml).text == "1:ERROR1"


def test_unknown_path_404_and_wrong_method_405(raw):
    """Unknown paths are 404; GET on a write function and PUT anywhere are 405; listings accept POST."""
    assert raw.get("contacts/deletegroup.ashx").status_code == 404
    assert raw.get("contacts/addgroup.ashx").status_code == 405
    assert raw.session.put(raw.base + "nix/list.ashx", params=SANDBOX_CREDENTIALS).status_code == 405
    response = raw.session.post(raw.base + "nix/list.ashx", params=SANDBOX_CREDENTIALS)
    assert (response.status_code, response.text) == (200, "2:ERROR1")


@pytest.mark.parametrize("path", ["contacts/listgroups.ashx", "nix/list.ashx", "reminder/list.ashx"])
def test_empty_listings_answer_2_error1(raw, path):
    """Each listing function reports an empty collection as 2:ERROR1, as text/plain."""
    response = raw.get(path)
    assert response.text == "2:ERROR1"
    assert response.headers["Content-Type"] == "text/plain; charset=iso-8859-1"


def test_latin1_round_trip_of_swedish_text(raw, emulator):
    """`Åsa Öberg` and `Välkommen!` travel as ISO-8859-1 bytes and come back with the declaration."""
    assert raw.post("contacts/addgroup.ashx", GROUP.format("Åsa Öberg")).text == "1"
    response = raw.get("contacts/listgroups.ashx")
    assert response.headers["Content-Type"] == "text/xml; charset=iso-8859-1"
    assert response.content.startswith(b'<?xml version="1.0" encoding="iso-8859-1"?>')
    assert '<group groupid="1">Åsa Öberg</group>'.encode("iso-8859-1") in response.content
    assert raw.post("message/create.ashx", message(body="Välkommen!")).text.isdigit()
    assert emulator.messages()[0]["body"] == "Välkommen!"


def test_missing_declaration_is_read_as_latin1(raw, emulator):
    """A body without the XML declaration is still read as ISO-8859-1."""
    assert raw.post("contacts/addgroup.ashx", GROUP.format("Väntrum"), declaration=False).text == "1"
    assert emulator.groups() == [{"id": 1, "name": "Väntrum"}]


def test_deletigroup_spelling_and_cascade(raw, emulator):
    """Groups are removed via deletigroup.ashx with a <deletigroups> root; unknown ids are skipped."""
    staff, patients = emulator.add_group("Staff"), emulator.add_group("Patients")
    emulator.add_contact("0701234567", groups=[staff])
    emulator.add_contact("0701234568", groups=[patients])
    body = (
        '<deletigroups><groups><group groupid="{}" deletecontacts="false" />'
        '<group groupid="999" /></groups></deletigroups>'
    )
    assert raw.post("contacts/deletigroup.ashx", body.format(staff)).text == str(staff)
    assert len(emulator.contacts()) == 2
    assert raw.post("contacts/deletigroup.ashx", body.format(staff)).text == "2:ERROR1"
    wrong_root = body.format(patients).replace("deletigroups", "deletegroups")
    assert raw.post("contacts/deletigroup.ashx", wrong_root).text == "1:ERROR1"
    cascade = body.format(patients).replace('"false"', '"TRUE"')
    assert raw.post("contacts/deletigroup.ashx", cascade).text == str(patients)
    assert [c["mobile"] for c in emulator.contacts()] == ["0701234567"]
    assert emulator.groups() == []


@pytest.mark.parametrize(
    ("title", "ok"),
    [
        ("Klinik", True),
        ("Tandlakare.1", False),
        ("Tand-lak +1", True),
        ("123456789012345", True),
        ("1234567890123456", False),
        ("Åsa", False),
        ("A_B", False),
        ("", False),
    ],
)
def test_sender_title_rules(raw, title, ok):
    """Sender titles: at most 11 of A-Z a-z 0-9 space . - +, or at most 15 digits."""
    answer = raw.post("message/create.ashx", message(title=title)).text
    assert answer.isdigit() if ok else answer == "1:ERROR1"


@pytest.mark.parametrize(
    ("length", "flags", "ok"),
    [
        (160, "", True),
        (161, "", False),
        (161, "<multisms>1</multisms>", True),
        (804, "<multisms>1</multisms>", True),
        (805, "<multisms>1</multisms>", False),
        (161, "<flash>1</flash><multisms>1</multisms>", False),
        (160, "<flash>1</flash>", True),
    ],
)
def test_body_length_limits(raw, length, flags, ok):
    """Bodies: 160 characters, 804 with multisms, 160 for flash."""
    answer = raw.post("message/create.ashx", message(body="x" * length, extra=flags)).text
    assert answer.isdigit() if ok else answer == "1:ERROR1"


def test_message_create_errors(raw, emulator):
    """Past send date 1:ERROR2, empty senddate 1:ERROR1, bad recipients 1:ERROR3, none 2:ERROR2."""
    assert raw.post("message/create.ashx", message(senddate="2026-11-01T09:00:00")).text == "1:ERROR2"
    assert raw.post("message/create.ashx", message(senddate="")).text == "1:ERROR1"
    assert raw.post("message/create.ashx", message(recipients="")).text == "2:ERROR2"
    bad_number = "<recipients><recipient>12ab</recipient></recipients>"
    assert raw.post("message/create.ashx", message(recipients=bad_number)).text == "1:ERROR3"
    unknown_group = '<groups><group groupid="42" /></groups>'
    assert raw.post("message/create.ashx", message(recipients=unknown_group)).text == "1:ERROR3"
    no_transid = message(extra="<statusurl>http://example.test/s</statusurl>")
    assert raw.post("message/create.ashx", no_transid).text == "1:ERROR1"
    empty = emulator.add_group("Empty")
    assert (
        raw.post(
            "message/create.ashx", message(recipients=f'<groups><group groupid="{empty}" /></groups>')
        ).text
        == "2:ERROR2"
    )
    assert emulator.messages() == []


def test_checknix_skips_blocked_group_members(raw, emulator):
    """With checknix=1, blocked group members are skipped; if nobody remains the answer is 2:ERROR2."""
    gid = emulator.add_group("Patients")
    emulator.add_contact("0701234567", groups=[gid])
    emulator.add_nix("+46701234567")
    groups = f'<groups><group groupid="{gid}" /></groups>'
    assert (
        raw.post("message/create.ashx", message(recipients=groups, extra="<checknix>1</checknix>")).text
        == "2:ERROR2"
    )
    assert raw.post("message/create.ashx", message(recipients=groups)).text.isdigit()


def test_scheduled_message_is_sent_at_its_time(raw, emulator, clock):
    """A message is scheduled until its senddate, can be deleted then, and is immutable once sent."""
    first = raw.post("message/create.ashx", message(senddate="2026-11-22T12:00:00")).text
    second = raw.post("message/create.ashx", message(senddate="2026-11-22T12:00:00")).text
    delete = "<message><messageid>{}</messageid></message>"
    assert raw.post("message/delete.ashx", delete.format(first)).text == first
    assert raw.post("message/delete.ashx", delete.format(first)).text == "2:ERROR2"
    clock.advance(3 * 3600)  # 13:00 in Stockholm (UTC+1 in November)
    assert [m["status"] for m in emulator.messages()] == ["deleted", "sent"]
    assert raw.post("message/delete.ashx", delete.format(second)).text == "2:ERROR2"
    assert raw.post("message/delete.ashx", delete.format("abc")).text == "2:ERROR1"
    assert raw.post("message/create.ashx", message(senddate=None)).text.isdigit()
    assert emulator.messages()[-1]["status"] == "sent"


def test_contacts_add_validation_is_all_or_nothing(raw, emulator):
    """Invalid mobile 3:ERROR2 and e-mail 3:ERROR1 fail the whole batch; unknown group 2:ERROR1."""
    gid = emulator.add_group("Staff")
    good = (
        f'<contact><type>1</type><mobile>070-123 45 67</mobile><groups><group groupid="{gid}" /></groups>'
        "</contact>"
    )
    bad_mobile = "<contact><type>1</type><mobile>12345</mobile></contact>"
    bad_email = "<contact><type>3</type><mobile>+46701234568</mobile><email>nope</email></contact>"
    no_group = (
        '<contact><type>1</type><mobile>0701234569</mobile><groups><group groupid="77" /></groups></contact>'
    )
    assert raw.post("contacts/add.ashx", f"<contacts>{good}{bad_mobile}</contacts>").text == "3:ERROR2"
    assert raw.post("contacts/add.ashx", f"<contacts>{good}{bad_email}</contacts>").text == "3:ERROR1"
    assert raw.post("contacts/add.ashx", f"<contacts>{good}{no_group}</contacts>").text == "2:ERROR1"
    assert (
        raw.post("contacts/add.ashx", "<contacts><contact><type>2</type></contact></contacts>").text
        == "3:ERROR1"
    )
    assert emulator.contacts() == []
    email_only = "<contact><type>2</type><email>a@b.se</email><extrafield>Reception</extrafield></contact>"
    ids = raw.post("contacts/add.ashx", f"<contacts>{good}{email_only}</contacts>").text.split(",")
    assert [c["id"] for c in emulator.contacts()] == [int(i) for i in ids]
    assert emulator.contacts()[0]["groups"] == [gid]
    assert emulator.contacts()[1]["extrafield"] == "Reception"


def test_nix_add_is_idempotent_and_delete_uses_normalized_numbers(raw, emulator):
    """Adding a blocked number returns its id; deletenix matches numbers after normalization."""
    add = '<addnixentries><nixentries><nixentry mobile="{}" /></nixentries></addnixentries>'
    first = raw.post("nix/addnix.ashx", add.format("070-123 45 67")).text
    assert raw.post("nix/addnix.ashx", add.format("+46701234567")).text == first
    assert raw.post("nix/addnix.ashx", add.format("not a number")).text == "2:ERROR1"
    emulator.add_contact("0701234567", firstname="Åsa", lastname="Öberg")
    listing = raw.get("nix/list.ashx").content.decode("iso-8859-1")
    assert "<mobile>070-123 45 67</mobile><firstname>Åsa</firstname><lastname>Öberg</lastname>" in listing
    delete = add.replace("addnixentries", "deletenixentries")
    assert raw.post("nix/deletenix.ashx", delete.format("0046701234567")).text == first
    assert raw.post("nix/deletenix.ashx", delete.format("0046701234567")).text == "2:ERROR1"
    assert emulator.nix() == []


def test_reminder_list_output_and_derived_fields(raw, emulator):
    """reminder/list uses camelCase names, `yyyy-MM-dd HH:mm` dates and derived message fields."""
    rid = raw.post("reminder/add.ashx", REMINDER.format(date="2026-12-01T08:30:00", mobile="0709876543")).text
    listing = raw.get("reminder/list.ashx", id=rid).content.decode("iso-8859-1")
    for fragment in (
        f"<appointmentId>{rid}</appointmentId>",
        "<appointmentDate>2026-12-01 08:30</appointmentDate>",
        "<userAlias>InTime Demo</userAlias>",
        "<active>true</active>",
        "<messageDate>2026-11-30 10:00</messageDate>",
        "<userIdentity></userIdentity>",
        "<organizer><title>Dr</title><firstname></firstname><lastname>Evertsson</lastname></organizer>",
        "<attendant><firstname>Anna</firstname><lastname></lastname><mobile>0709876543</mobile>",
    ):
        assert fragment in listing
    assert "Hej Anna!" in emulator.reminders()[0]["message_text"]
    assert raw.get("reminder/list.ashx", id="999").text == "2:ERROR1"


def test_reminder_add_requires_date_and_valid_mobile(raw, emulator):
    """reminder/add needs appointmentdate in the input format and a valid attendant mobile."""
    assert (
        raw.post("reminder/add.ashx", REMINDER.format(date="2026-12-01 08:30", mobile="0701")).text
        == "1:ERROR1"
    )
    assert (
        raw.post("reminder/add.ashx", REMINDER.format(date="2026-12-01T08:30:00", mobile="12")).text
        == "2:ERROR1"
    )
    camel = REMINDER.format(date="2026-12-01T08:30:00", mobile="0709876543").replace(
        "appointmentdate", "appointmentDate"
    )
    assert raw.post("reminder/add.ashx", camel).text == "1:ERROR1"
    assert emulator.reminders() == []


def test_reminder_edit_is_partial_and_negative_for_inactive_or_unknown(raw, emulator):
    """Edit changes only the sent elements; inactive and unknown ids come back negative."""
    active = emulator.add_reminder(
        "2026-12-01T08:30:00", "0709876543", attendant_firstname="Anna", attendant_lastname="Lind"
    )
    inactive = emulator.add_reminder("2026-12-02T08:30:00", "0709876544", active=False)
    edit = (
        "<reminderappointments>"
        "<reminderappointment><appointmentid>{}</appointmentid><attendant_lastname>Berg</attendant_lastname>"
        "</reminderappointment><reminderappointment><appointmentid>{}</appointmentid><active>true</active>"
        "</reminderappointment><reminderappointment><appointmentid>4242</appointmentid></reminderappointment>"
        "</reminderappointments>"
    )
    assert raw.post("reminder/edit.ashx", edit.format(active, inactive)).text == f"{active},-{inactive},-4242"
    first, second = emulator.reminders()
    assert (first["attendant_firstname"], first["attendant_lastname"]) == ("Anna", "Berg")
    assert second["active"] is False
    only_unknown = (
        "<reminderappointments><reminderappointment><appointmentid>4242</appointmentid>"
        "<active>false</active></reminderappointment></reminderappointments>"
    )
    assert raw.post("reminder/edit.ashx", only_unknown).text == "2:ERROR1"
    deactivate = only_unknown.replace("4242", str(active))
    assert raw.post("reminder/edit.ashx", deactivate).text == str(active)
    assert raw.post("reminder/edit.ashx", deactivate).text == f"-{active}"
    assert (
        raw.post(
            "reminder/edit.ashx",
            deactivate.replace("<appointmentid>", "<x>").replace("</appointmentid>", "</x>"),
        ).text
        == "1:ERROR1"
    )


def test_throttle_answers_503_too_many_requests(raw, emulator):
    """Over rpm_limit the emulator answers HTTP 503 text/plain "Too many requests" (an assumption)."""
    emulator.rpm_limit = 2
    answers = [raw.get("nix/list.ashx") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 503]
    assert answers[2].text == "Too many requests"
    assert answers[2].headers["Content-Type"].startswith("text/plain")
    assert emulator.count("GET", "nix/list") == 3


def test_file_database_is_seeded_once_and_keeps_ids(tmp_path, clock):
    """A file-backed emulator can be reopened: the sandbox user is seeded once and ids continue."""
    path = str(tmp_path / "intime.db")
    first = IntimeEmulator(path, clock=clock)
    assert first.add_group("A") == 1
    first.db.close()
    second = IntimeEmulator(path, clock=clock)
    assert second.add_group("B") == 2
    assert second.db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1
    assert second.add_nix("0701234567") == 5001
    second.db.close()
