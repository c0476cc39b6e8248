"""The people of a factory group at work, for locust (run by bench/load_test.py, which prepares what this reads).

Supervisors file NCs through the API and read the NC list (page and API) and NC pages; quality managers open
their home page and contain the NCs just filed, sending the version they read, as the app's pages do. Two
quality managers may reach for the same NC: the second is refused (409), which is the app keeping both from
losing the other's change, not an error; any other refusal or failure is one.

LOAD_PLAN names a JSON file: ``tokens`` (username -> API token), ``sessions`` (username -> session cookie),
``places`` (valid [line, style, batch] triples to file against), ``recent`` (numbers of existing NCs to read)
and ``accepted``, the file where each NC number answered 201 and the count of containments refused with 409 are
written when the run stops (checked afterwards).
"""

import json
import os
import random

from locust import HttpUser, between, events, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())  # noqa: SIM115 (read once at start)
NCS = "/api/v1/nonconformances"
#: The NCs filed during the run, (number, version), for the quality managers to contain and everyone to read.
filed: list[tuple[str, int]] = []
accepted: list[str] = []
#: Containments refused because another quality manager changed the NC first (409): expected, counted apart.
refused_as_stale = 0


def expect(response, *ok: int) -> None:
    """Mark the answer failed unless its status is one of ``ok``."""
    if response.status_code in ok:
        response.success()
    else:
        response.failure(f"{response.status_code}: {response.text[:200]}")


class Person(HttpUser):
    abstract = True
    wait_time = between(0.05, 0.3)
    usernames: list[str] = []

    def on_start(self) -> None:
        self.username = random.choice(self.usernames)
        self.api = {"Authorization": f"Bearer {PLAN['tokens'][self.username]}"}
        # Logged in before the run (bench/load_test.py): the pages are read with that session.
        self.client.cookies.set("session", PLAN["sessions"][self.username])

    def some_number(self) -> str:
        return random.choice(filed)[0] if filed and random.random() < 0.5 else random.choice(PLAN["recent"])

    @task(3)
    def read_the_api_list(self) -> None:
        line = random.choice(PLAN["places"])[0]
        query = random.choice(["", "&status=action", f"&line={line}", f"&status=investigation&line={line}"])
        with self.client.get(
            f"{NCS}?per_page=50&cursor=first{query}", headers=self.api, name="API list", catch_response=True
        ) as response:
            expect(response, 200)

    @task(2)
    def read_the_list_page(self) -> None:
        line = random.choice(PLAN["places"])[0]
        query = random.choice(["", "?status=action", f"?line={line}"])
        with self.client.get(f"/nc{query}", name="NC list page", catch_response=True) as response:
            expect(response, 200)

    @task(3)
    def read_an_nc_page(self) -> None:
        with self.client.get(f"/nc/{self.some_number()}", name="NC page", catch_response=True) as response:
            expect(response, 200)


class Supervisor(Person):
    weight = 3
    usernames = [name for name in PLAN["tokens"] if name.startswith("sup")]

    @task(3)
    def file_an_nc(self) -> None:
        line, style, batch = random.choice(PLAN["places"])
        body = {
            "title": "按扣拉力不足 Snap pull-off below 90 N",
            "description": "Found at end-of-line pull test.",
            "defect_type": random.choice(["loose_button", "broken_stitch", "stain"]),
            "source": "end_of_line",
            "line": line,
            "style": style,
            "batch": batch,
        }
        with self.client.post(NCS, json=body, headers=self.api, name="File an NC", catch_response=True) as response:
            expect(response, 201)
            if response.status_code == 201:
                answer = response.json()
                filed.append((answer["number"], answer["version"]))
                accepted.append(answer["number"])


class QualityManager(Person):
    weight = 1
    usernames = [name for name in PLAN["tokens"] if name.startswith("qm")]

    @task(2)
    def open_the_home_page(self) -> None:
        with self.client.get("/", name="Home (quality manager)", catch_response=True) as response:
            expect(response, 200)

    @task(3)
    def contain_an_nc(self) -> None:
        if not filed:
            return
        # Now and then one takes the newest NC without taking it off the list, so that the next one reaches for
        # it too: one contains it, the other is refused (409).
        number, version = filed.pop() if random.random() < 0.8 else filed[-1]
        body = {"description": "Held in the cage; 100% sorting.", "hold": [], "version": version}
        with self.client.post(
            f"{NCS}/{number}/containment", json=body, headers=self.api, name="Contain an NC", catch_response=True
        ) as response:
            expect(response, 200, 409)
            if response.status_code == 409:
                global refused_as_stale
                refused_as_stale += 1


@events.test_stop.add_listener
def write_accepted(**_kwargs) -> None:
    with open(PLAN["accepted"], "w", encoding="utf-8") as out:
        json.dump({"accepted": accepted, "refused_as_stale": refused_as_stale}, out)
