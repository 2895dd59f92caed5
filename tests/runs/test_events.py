import json

from runs.events import event_append
from tests.factories import AgentFactory, RunFactory


def parse(stream_text):
    events = []
    for block in stream_text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if not line.startswith(":") and ": " in line
        )
        if "id" in fields:
            events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return events


def read(member, run, **kwargs):
    response = member.client.get(
        f"/agent/v1/run/{run.id}/events", HTTP_ACCEPT="text/event-stream", **kwargs
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    return parse(b"".join(response.streaming_content).decode())


def seeded_run(alice):
    run = RunFactory(agent=AgentFactory(organization=alice.organization))
    for i in range(1, 6):
        event_append(run_id=run.id, type="run.step", data={"n": i})
    event_append(run_id=run.id, type="run.completed", data={"status": "completed"})
    return run


def test_it_streams_every_event_and_closes_after_the_terminal_one(alice):
    events = read(alice, seeded_run(alice))
    assert [e[0] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1][1] == "run.completed"


def test_it_replays_after_last_event_id_without_gaps_or_duplicates(alice):
    run = seeded_run(alice)
    first_half = read(alice, run)[:3]
    rest = read(alice, run, HTTP_LAST_EVENT_ID=str(first_half[-1][0]))
    assert [e[0] for e in first_half + rest] == [1, 2, 3, 4, 5, 6]


def test_it_accepts_last_event_id_as_a_query_parameter(alice):
    run = seeded_run(alice)
    response = alice.client.get(f"/agent/v1/run/{run.id}/events?lastEventId=4")
    assert [e[0] for e in parse(b"".join(response.streaming_content).decode())] == [5, 6]


def test_it_sends_keep_alives_and_ends_at_its_lifetime(alice, settings):
    settings.SSE_KEEPALIVE_S = 0
    settings.SSE_POLL_S = 0.01
    settings.SSE_MAX_STREAM_S = 0.05
    run = RunFactory(agent=AgentFactory(organization=alice.organization))
    response = alice.client.get(f"/agent/v1/run/{run.id}/events")
    text = b"".join(response.streaming_content).decode()
    # A lone comment line: a blank line after it would end an (empty) event for SDK decoders.
    assert text.startswith(": keep-alive\n") and "\n\n" not in text


def test_every_frame_carries_json_data_and_the_first_one_the_retry_delay(alice):
    text = b"".join(
        alice.client.get(f"/agent/v1/run/{seeded_run(alice).id}/events").streaming_content
    ).decode()
    frames = text.strip("\n").split("\n\n")
    assert frames[0].startswith("retry: ")
    assert sum("retry:" in frame for frame in frames) == 1
    for frame in frames:
        data = [line[6:] for line in frame.splitlines() if line.startswith("data: ")]
        assert len(data) == 1 and json.loads(data[0])["sequence"]


def test_a_bad_last_event_id_is_400(alice):
    run = seeded_run(alice)
    response = alice.client.get(f"/agent/v1/run/{run.id}/events?lastEventId=abc")
    assert response.status_code == 400
    assert "lastEventId" in response.json()["error"]["fields"]
