"""Every iteration's loss in two checkpoints' histories (saved every
iteration) within 1e-5 relative, per identity.
usage: compare_losses.py REFERENCE/model.json OTHER/model.json ITERATIONS"""
import json
import sys

ref, other = (json.load(open(p))["state"]["loss"] for p in sys.argv[1:3])
want = list(range(1, int(sys.argv[3]) + 1))
assert set(ref) == set(other), (sorted(ref), sorted(other))
worst = 0.0
for name in ref:
    a, b = dict(map(tuple, ref[name])), dict(map(tuple, other[name]))
    assert sorted(a) == want and sorted(b) == want, (name, sorted(a), sorted(b))
    for it in want:
        rel = abs(a[it] - b[it]) / abs(a[it])
        worst = max(worst, rel)
        assert rel <= 1e-5, "%s iteration %d: loss %.9g, reference %.9g" % (name, it, b[it], a[it])
print("losses within %.2g relative" % worst)
