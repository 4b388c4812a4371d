import math

import pytest

from auditkit.checks.result import CheckResult, Criterion, Verdict

from auditkit.evidence import Evidence


def test_criterion_sides_and_nonfinite():
    assert Criterion.evaluate("a", "", 1.0, 2.0).passed is True
    assert Criterion.evaluate("a", "", 3.0, 2.0).passed is False
    assert Criterion.evaluate("a", "", 3.0, 2.0, comparison=">=").passed is True
    assert Criterion.evaluate("a", "", math.nan, 2.0).passed is False
    assert Criterion.evaluate("a", "", None, 2.0).passed is False
    with pytest.raises(ValueError):
        Criterion.evaluate("a", "", 1.0, 2.0, comparison="<")


def test_overall_verdict_order():
    def check(v):
        return CheckResult(name="c", verdict=v)

    ev = Evidence(tool={"name": "auditkit", "version": "x"}, submission={})
    assert ev.decide() is Verdict.NOT_RUN
    ev.checks = [check(Verdict.PASS), check(Verdict.NOT_RUN)]
    assert ev.decide() is Verdict.PASS
    ev.checks.append(check(Verdict.PRELIMINARY))
    assert ev.decide() is Verdict.PRELIMINARY
    ev.checks.append(check(Verdict.FAIL))
    assert ev.decide() is Verdict.FAIL
    ev.checks.append(check(Verdict.ERROR))
    assert ev.decide() is Verdict.ERROR


def test_a_quick_run_is_never_a_pass_but_its_failures_are_failures():
    met, missed = Criterion.evaluate("a", "", 1.0, 2.0), Criterion.evaluate("b", "", 3.0, 2.0)
    reported = met.model_copy(update={"passed": None})
    assert CheckResult.verdict_from([met]) is Verdict.PASS
    assert CheckResult.verdict_from([met], quick=True) is Verdict.PRELIMINARY
    assert CheckResult.verdict_from([met, missed], quick=True) is Verdict.FAIL
    assert CheckResult.verdict_from([met, reported]) is Verdict.PASS  # a criterion reported, not judged
    assert CheckResult.verdict_from([reported]) is Verdict.NOT_RUN
    assert CheckResult.verdict_from([]) is Verdict.NOT_RUN


def test_json_roundtrip_is_canonical(tmp_path):
    c = Criterion.evaluate("x", "d", 0.1, 0.2, compares_to_baseline=True)
    ev = Evidence(
        tool={"name": "auditkit", "version": "x"},
        submission={"id": "s"},
        checks=[CheckResult(name="c", verdict=CheckResult.verdict_from([c]), criteria=[c])],
    )
    p = tmp_path / "evidence.json"
    p.write_text(ev.to_json(), encoding="utf-8")
    again = Evidence.read(p)
    assert again.to_json() == ev.to_json()
    assert again.checks[0].verdict is Verdict.PASS


def test_a_criterion_keeps_its_per_image_values():
    c = Criterion.evaluate("a", "", 0.3, 1.0, per_image={"x": 0.3, "y": 0.1, "z": math.nan})
    assert c.per_image == {"x": 0.3, "y": 0.1, "z": None}
    assert Criterion.evaluate("a", "", 0.3, 1.0).per_image is None
