package io.netpoll.bench.runner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Medians over rounds, and ratios against Netty epoll. A ratio is taken round by round (each
 * contender against the Netty epoll server measured in the same round, minutes apart on the same
 * machine), and the median of those per-round ratios is reported; runs with a note (failed, errors)
 * are left out.
 */
final class Summary {
    final List<Measurement> all;
    final List<Scenario> scenarios;
    final List<Contender> contenders;

    Summary(List<Measurement> all, List<Scenario> scenarios, List<Contender> contenders) {
        this.all = all;
        this.scenarios = scenarios;
        this.contenders = contenders;
    }

    static List<String> modes(Scenario s) {
        return s.memory() ? List.of("memory") : List.of("closed", "open");
    }

    /** The usable runs of one contender in one scenario and mode. */
    List<Measurement> runs(String scenario, String mode, String contender) {
        List<Measurement> r = new ArrayList<>();
        for (Measurement m : all) {
            if (m.scenario().equals(scenario) && m.mode().equals(mode) && m.contender().equals(contender) && m.ok()) {
                r.add(m);
            }
        }
        return r;
    }

    /** Every run, failed ones included. */
    List<Measurement> attempts(String scenario, String mode, String contender) {
        List<Measurement> r = new ArrayList<>();
        for (Measurement m : all) {
            if (m.scenario().equals(scenario) && m.mode().equals(mode) && m.contender().equals(contender)) {
                r.add(m);
            }
        }
        return r;
    }

    double median(String scenario, String mode, String contender, ToDoubleFunction<Measurement> metric) {
        List<Measurement> r = runs(scenario, mode, contender);
        double[] v = r.stream().mapToDouble(metric).filter(d -> !Double.isNaN(d)).toArray();
        return median(v);
    }

    /** Median over rounds of metric(contender) / metric(Netty epoll) in the same round. */
    double ratio(String scenario, String mode, String contender, ToDoubleFunction<Measurement> metric) {
        return ratio(scenario, mode, contender, metric, m -> true);
    }

    /** As above, over the rounds where both runs pass {@code usable} (e.g. neither was generator-limited). */
    double ratio(String scenario, String mode, String contender, ToDoubleFunction<Measurement> metric,
                 java.util.function.Predicate<Measurement> usable) {
        List<Measurement> base = runs(scenario, mode, Contender.BASELINE);
        List<Double> ratios = new ArrayList<>();
        for (Measurement m : runs(scenario, mode, contender)) {
            for (Measurement b : base) {
                if (b.round() == m.round() && usable.test(m) && usable.test(b)) {
                    double x = metric.applyAsDouble(m);
                    double y = metric.applyAsDouble(b);
                    if (!Double.isNaN(x) && !Double.isNaN(y) && y > 0) {
                        ratios.add(x / y);
                    }
                }
            }
        }
        return median(ratios.stream().mapToDouble(Double::doubleValue).toArray());
    }

    int count(String scenario, String mode, String contender, java.util.function.Predicate<Measurement> p) {
        return (int) runs(scenario, mode, contender).stream().filter(p).count();
    }

    /** Distinct notes of the failed runs of one contender in one scenario and mode. */
    Set<String> notes(String scenario, String mode, String contender) {
        Set<String> n = new LinkedHashSet<>();
        for (Measurement m : attempts(scenario, mode, contender)) {
            if (!m.ok()) {
                n.add("round " + m.round() + ": " + m.note());
            }
        }
        return n;
    }

    static double median(double[] v) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
