"""Confidence intervals for click-through rates (plain Python, no Django).

Wilson's score interval stays inside [0, 1] and behaves with few clicks, where
the textbook p ± z·sqrt(p(1-p)/n) gives negative or zero-width intervals. The
difference of two rates uses Newcombe's hybrid score interval (method 10 of
Newcombe 1998), built from the two Wilson intervals.
"""
import math

Z_95 = 1.959963984540054


def wilson_interval(successes, trials, z=Z_95):
    """(low, high) of the 95% Wilson score interval, or None when there are no trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be within 0..{trials}, got {successes}")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(successes_a, trials_a, successes_b, trials_b, z=Z_95):
    """(difference, low, high) of rate A minus rate B, or None if either has no trials."""
    interval_a = wilson_interval(successes_a, trials_a, z)
    interval_b = wilson_interval(successes_b, trials_b, z)
    if interval_a is None or interval_b is None:
        return None
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    (low_a, high_a), (low_b, high_b) = interval_a, interval_b
    difference = p_a - p_b
    low = difference - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)
    high = difference + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)
    return difference, low, high
