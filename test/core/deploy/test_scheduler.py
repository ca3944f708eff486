"""DeadlineTimer: deadlines t0 + k*period independent of the work, skipped overruns, spin phase."""

import pytest

from trirl_ros.core.deploy.scheduler import DeadlineTimer


class FakeClock:
    """A clock that advances only by sleeps (and by `work`); records every sleep request."""

    def __init__(self, overshoot: float = 0.0) -> None:
        self.t, self.sleeps, self.overshoot = 0.0, [], overshoot

    def __call__(self) -> float:
        return self.t

    def sleep(self, dt: float) -> None:
        self.sleeps.append(dt)
        self.t += dt + (self.overshoot if dt > 0 else 1e-5)  # a real sleep overshoots; sleep(0) yields


def test_period_does_not_stretch_by_the_work():
    clock = FakeClock()
    timer = DeadlineTimer(0.02, clock=clock, sleep=clock.sleep)
    for k in range(1, 4):
        clock.t += 0.007  # the work of one tick
        assert timer.wait() == pytest.approx(0.0)
        assert clock.t == pytest.approx(0.02 * k)
    assert clock.sleeps == pytest.approx([0.013, 0.013, 0.013])


def test_missed_deadlines_are_skipped_and_counted():
    clock = FakeClock()
    timer = DeadlineTimer(0.02, clock=clock, sleep=clock.sleep)
    clock.t = 0.075  # 3 deadlines (0.02, 0.04, 0.06) passed during a long stall
    late = timer.wait()
    assert timer.overruns == 2 and late == pytest.approx(0.015)  # runs once for 0.06, no burst
    assert timer.wait() == pytest.approx(0.0) and clock.t == pytest.approx(0.08)


def test_spin_phase_absorbs_the_sleep_overshoot():
    plain, spun = FakeClock(overshoot=5e-4), FakeClock(overshoot=5e-4)
    t_plain = DeadlineTimer(0.02, clock=plain, sleep=plain.sleep)
    t_spun = DeadlineTimer(0.02, clock=spun, sleep=spun.sleep, spin=1e-3)
    assert t_plain.wait() == pytest.approx(5e-4)  # plain sleep wakes 0.5 ms late
    late = t_spun.wait()
    assert 0.0 <= late <= 1e-5  # slept to 1 ms before, overshot 0.5 ms, yielded the rest
    assert spun.sleeps[0] == pytest.approx(0.019) and all(s == 0.0 for s in spun.sleeps[1:])


def test_spin_must_be_shorter_than_the_period():
    with pytest.raises(ValueError, match="spin must be in"):
        DeadlineTimer(0.002, spin=0.002)
