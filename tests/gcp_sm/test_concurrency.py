"""16 threads adding versions at once lose none, and numbering stays consistent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

THREADS = 16
PER_THREAD = 10


def test_sixteen_threads_adding_versions(client, client_as, make_secret):
    name = make_secret("busy")
    clients = [client] + [client_as(None) for _ in range(3)]  # shared and separate channels

    def work(thread: int) -> list[tuple[int, bytes]]:
        c = clients[thread % len(clients)]
        out = []
        for i in range(PER_THREAD):
            data = f"demo-not-a-real-key-t{thread}-{i}".encode()
            version = c.add_secret_version(parent=name, payload={"data": data})
            out.append((int(version.name.rsplit("/", 1)[1]), data))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = [row for rows in pool.map(work, range(THREADS)) for row in rows]

    total = THREADS * PER_THREAD
    numbers = sorted(n for n, _ in results)
    assert numbers == list(range(1, total + 1))  # no loss, no duplicate, no gap
    listed = list(client.list_secret_versions(parent=name))
    assert len(listed) == total
    for number, data in results[:: total // 16]:  # each number holds what its adder sent
        got = client.access_secret_version(name=f"{name}/versions/{number}")
        assert got.payload.data == data
    latest = client.access_secret_version(name=f"{name}/versions/latest")
    assert latest.name.endswith(f"/versions/{total}")
    # per thread, the numbers it got increase (a thread's adds are ordered)
    for thread in range(THREADS):
        mine = [n for n, d in results if d.startswith(f"demo-not-a-real-key-t{thread}-".encode())]
        assert mine == sorted(mine)
