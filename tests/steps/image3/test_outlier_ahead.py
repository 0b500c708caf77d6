"""outlier_detection reads and maps the next exposure in a helper thread (``_drizzle.Ahead``)."""

import threading

import pytest

from webbcal.steps.image3._drizzle import Ahead


def test_results_in_order_one_item_ahead_in_another_thread():
    started, threads = [], set()

    def fn(item):
        started.append(item)
        threads.add(threading.get_ident())
        return item * 10

    ahead = Ahead(fn, [1, 2, 3, 4])
    got = []
    for i in range(4):
        got.append(ahead.next())
        # after taking item i, at most item i + 1 has been started: never two ahead
        assert len(started) <= i + 2
    ahead.close()
    assert got == [10, 20, 30, 40]
    assert started == [1, 2, 3, 4]
    assert threading.get_ident() not in threads


def test_single_item_runs_here_and_errors_reraise():
    ran_in = []
    ahead = Ahead(lambda x: ran_in.append(threading.get_ident()) or x + 1, [5])
    assert ahead.next() == 6
    assert ran_in == [threading.get_ident()]

    def boom(x):
        if x == 2:
            raise ValueError("bad member 2")
        return x

    ahead = Ahead(boom, [1, 2, 3])
    assert ahead.next() == 1
    with pytest.raises(ValueError, match="bad member 2"):
        ahead.next()
    ahead.close()


def test_close_drops_the_item_not_taken():
    started = []
    ahead = Ahead(lambda x: started.append(x) or x, [1, 2, 3])
    assert ahead.next() == 1
    ahead.close()
    assert 3 not in started
