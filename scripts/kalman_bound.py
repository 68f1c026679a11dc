#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The optimal error a time daemon could reach in a simulated scenario.

The model is the one the simulator runs: the system clock's offset from the PHC, x (ns),
and its frequency error, y (ppb = ns/s), with
    x[k+1] = x[k] + T y[k] + w_x,   y[k+1] = y[k] + w_y,
where y is a random walk of q ppb^2/s (the scenario's sys_random_walk_ppb squared), which
also integrates into x. Each PHC read measures x with white noise of variance R: the
Gaussian part, the variance of the one-sided exponential part (its mean is a bias no
daemon can see, so it is left out of the scatter bound and reported apart) and what the
position of the sample in the read window adds. Outliers are left out: a robust estimator
discards them.

The bound is the steady state of the Kalman filter that uses every read (T = 1 / reads per
second): the best linear estimate for that read budget. It is the error of an ideal
daemon that sets its clock to its estimate at every read; between reads the error grows
with the frequency error and the random walk, and the figure is its time average, as the
bench measures the peers' error. A daemon that slews cannot do better.

    kalman_bound.py SCENARIO.scn [--reads-per-s R]   print the bound
    kalman_bound.py --selftest                       check it against a simulated filter
"""
import argparse
import math
import random
import re
import sys

UNITS = {'ns': 1.0, 'us': 1e3, 'ms': 1e6, 's': 1e9, 'm': 60e9, 'h': 3600e9, 'd': 86400e9}

# The simulator's driver profiles (tests/sim/README.md) before a scenario's own keys.
PROFILES = {
    'kvm': {'noise': 20.0, 'precise_noise': 20.0, 'precise': True,
            'delay': 1500.0, 'delay_jitter': 300.0},
    'vmw': {'noise': 50.0, 'delay': 3000.0, 'delay_jitter': 1000.0},
    'hyperv': {'noise': 50.0, 'delay': 2000.0, 'delay_jitter': 1000.0},
    'vmclock': {'noise': 10.0, 'precise_noise': 10.0, 'precise': True,
                'delay': 200.0, 'delay_jitter': 50.0},
    'ena': {'noise': 100.0, 'delay': 5000.0, 'delay_jitter': 2000.0},
}


def parse_time_ns(text):
    m = re.fullmatch(r'([-+]?[0-9.eE+-]+)(ns|us|ms|s|m|h|d)?', text)
    if not m:
        raise ValueError('expected a time such as 100ns, got %r' % text)
    return float(m.group(1)) * UNITS[m.group(2) or 's']


def parse_scenario(path):
    """The keys of the first PHC block and the system's random walk, as plain numbers
    (times in ns)."""
    scn = {'sys_random_walk_ppb': 0.0}
    in_phc = False
    with open(path, encoding='utf-8') as f:
        for line in f:
            words = line.split('#', 1)[0].split()
            if not words:
                continue
            key, args = words[0], words[1:]
            if key == 'phc':
                if in_phc:
                    break  # the bound is for the first device
                in_phc = True
                scn.update(PROFILES.get(args[0], {}))
                scn['profile'] = args[0]
            elif key == 'sys_random_walk_ppb':
                scn[key] = float(args[0])
            elif in_phc and args:
                try:
                    scn[key] = parse_time_ns(args[0])
                except ValueError:
                    try:
                        scn[key] = float(args[0])
                    except ValueError:
                        scn[key] = args[0]
    return scn


def read_variance(scn):
    """(variance ns^2, bias ns) of one read's offset measurement."""
    if scn.get('precise'):
        gauss = scn.get('precise_noise', 0.0)
        expo = scn.get('precise_noise_exp', 0.0)
        window = 0.0
    else:
        gauss = scn.get('noise', 0.0)
        expo = scn.get('noise_exp', 0.0)
        # The PHC is sampled at a fixed fraction of a window whose length varies by
        # Exp(delay_jitter); the system side is the window's midpoint.
        asym = scn.get('asymmetry', 0.5)
        window = (asym - 0.5) * scn.get('delay_jitter', 0.0)
        # Noise that grows with the window: a share of the window's own variation.
        window = math.hypot(window, scn.get('noise_window', 0.0) * scn.get('delay_jitter', 0.0))
    return gauss * gauss + expo * expo + window * window, expo


def steady_state(T, R, q):
    """Posterior covariance [[p00, p01], [p01, p11]] of the two-state filter, iterated to
    its fixed point (the discrete Riccati equation)."""
    q00, q01, q11 = q * T ** 3 / 3.0, q * T * T / 2.0, q * T
    p00, p01, p11 = 1e18, 0.0, 1e10
    for _ in range(1000000):
        # predict
        a00 = p00 + 2 * T * p01 + T * T * p11 + q00
        a01 = p01 + T * p11 + q01
        a11 = p11 + q11
        # update
        s = a00 + R
        k0, k1 = a00 / s, a01 / s
        n00 = (1 - k0) * a00
        n01 = (1 - k0) * a01
        n11 = a11 - k1 * a01
        done = abs(n00 - p00) <= 1e-12 * max(n00, 1e-30) and abs(n11 - p11) <= 1e-12 * max(n11, 1e-30)
        p00, p01, p11 = n00, n01, n11
        if done:
            break
    return p00, p01, p11


def bound(scn, reads_per_s=None):
    """The optimal scatter of a scenario: time_ns (time-averaged), at_read_ns (just after a
    read), freq_ppb, and bias_ns (the mean of the one-sided noise, which no daemon sees)."""
    r = reads_per_s or scn.get('reads_per_s', 1.0)
    T = 1.0 / r
    R, bias = read_variance(scn)
    q = scn.get('sys_random_walk_ppb', 0.0) ** 2
    if q <= 0.0:
        q = 1e-12  # a clock without wander: the bound tends to 0 as the run grows
    R = max(R, 1e-6)
    p00, p01, p11 = steady_state(T, R, q)
    avg = p00 + T * p01 + T * T * p11 / 3.0 + q * T ** 3 / 12.0
    return {'time_ns': math.sqrt(avg), 'at_read_ns': math.sqrt(p00),
            'freq_ppb': math.sqrt(p11), 'bias_ns': bias, 'reads_per_s': r}


def bound_ns(scn, reads_per_s=None):
    """The time-averaged scatter bound in ns (what σ / bound divides by)."""
    return bound(scn, reads_per_s)['time_ns']


def selftest():
    """Run the filter on simulated data and compare its scatter with the bound."""
    rng = random.Random(1)
    failures = 0
    for r, sigma, walk in ((1.0, 100.0, 1.0), (5.0, 100.0, 1.0), (1.0, 10000.0, 1.0),
                           (4.0, 1000.0, 10.0)):
        T, R, q = 1.0 / r, sigma * sigma, walk * walk
        b = bound({'noise': sigma, 'sys_random_walk_ppb': walk}, r)
        x, y = 0.0, 0.0
        xe, ye = 0.0, 0.0
        p00, p01, p11 = 1e12, 0.0, 1e6
        sq, n = 0.0, 0
        steps = 40000
        for k in range(steps):
            # the truth over one interval, the error taken at the middle of each of its
            # sub-intervals (the time average)
            sub = 8
            dt = T / sub / 2.0
            for j in range(2 * sub):
                wy = rng.gauss(0.0, math.sqrt(q * dt))
                x += dt * y + wy * dt / 2.0 + rng.gauss(0.0, math.sqrt(q * dt ** 3 / 12.0))
                y += wy
                if j % 2 == 0 and k > steps // 10:
                    err = x - (xe + ye * (j + 1) * dt)
                    sq += err * err
                    n += 1
            xe += ye * T
            a00 = p00 + 2 * T * p01 + T * T * p11 + q * T ** 3 / 3.0
            a01 = p01 + T * p11 + q * T * T / 2.0
            a11 = p11 + q * T
            z = x + rng.gauss(0.0, sigma)
            s = a00 + R
            k0, k1 = a00 / s, a01 / s
            innov = z - xe
            xe += k0 * innov
            ye += k1 * innov
            p00, p01, p11 = (1 - k0) * a00, (1 - k0) * a01, a11 - k1 * a01
        got = math.sqrt(sq / n)
        ok = abs(got / b['time_ns'] - 1.0) < 0.05
        failures += not ok
        print('%s reads/s %g  noise %g ns  walk %g ppb/sqrt(s): simulated %.2f ns, bound %.2f ns'
              % ('ok  ' if ok else 'FAIL', r, sigma, walk, got, b['time_ns']))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('scenario', nargs='?')
    ap.add_argument('--reads-per-s', type=float, help='read budget (default: 1)')
    ap.add_argument('--selftest', action='store_true')
    args = ap.parse_args()
    if args.selftest:
        return selftest()
    if not args.scenario:
        ap.error('a scenario file or --selftest is needed')
    b = bound(parse_scenario(args.scenario), args.reads_per_s)
    print('reads/s %g: time %.1f ns (%.1f ns just after a read), frequency %.3f ppb, '
          'unseen bias %.0f ns' % (b['reads_per_s'], b['time_ns'], b['at_read_ns'],
                                   b['freq_ppb'], b['bias_ns']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
