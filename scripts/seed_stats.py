"""Confidence intervals over seeds for the result tables: a paired t interval (same seeds, e.g. bf16
vs fp32) and Welch's t interval for the difference of two configs' means (unequal variances)."""
import math
import statistics

# Two-sided 95% quantiles of Student's t by degrees of freedom; a fractional df (Welch) takes the
# next lower tabulated one, which widens the interval (conservative).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
       12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t95(df):
    return T95[max(k for k in T95 if k <= max(df, 1))]


def t_interval(diffs):
    """Mean of paired differences and its 95% t half-width (None with fewer than 2 pairs)."""
    m = statistics.mean(diffs)
    if len(diffs) < 2:
        return m, None
    return m, t95(len(diffs) - 1) * statistics.stdev(diffs) / math.sqrt(len(diffs))


def welch_interval(a, b):
    """mean(a) - mean(b) and its 95% Welch t half-width (None unless both have 2 or more values)."""
    d = statistics.mean(a) - statistics.mean(b)
    if len(a) < 2 or len(b) < 2:
        return d, None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se2 = va + vb
    if se2 == 0:
        return d, 0.0
    df = se2 ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return d, t95(df) * math.sqrt(se2)
