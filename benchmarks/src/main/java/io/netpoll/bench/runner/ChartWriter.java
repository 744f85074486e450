package io.netpoll.bench.runner;

import java.awt.Color;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * Draws the report's chart with XChart: (1) server CPU per request relative to Netty epoll, open loop,
 * grouped by scenario, one bar per contender, on a log scale so 0.8x and 1.25x look equally far from
 * 1.00x; (2) resident and heap memory per idle connection (scenario 5), one group per contender.
 */
final class ChartWriter {
    /** The memory chart's log axis starts here (KB); smaller readings are named, not drawn. */
    private static final double MEMORY_FLOOR_KB = 0.1;

    private ChartWriter() {}

    /** Writes the PNG; false (with a message) if there was nothing to draw or drawing failed. */
    static boolean write(Summary s, Path png) {
        System.setProperty("java.awt.headless", "true");
        try {
            List<CategoryChart> charts = new ArrayList<>();
            CategoryChart cpu = cpuChart(s);
            if (cpu != null) {
                charts.add(cpu);
            }
            CategoryChart mem = memoryChart(s);
            if (mem != null) {
                charts.add(mem);
            }
            if (charts.isEmpty()) {
                System.out.println("chart: nothing to draw (no ratios against Netty epoll, no memory scenario)");
                return false;
            }
            BitmapEncoder.saveBitmap(charts, charts.size(), 1, png.toString(), BitmapEncoder.BitmapFormat.PNG);
            return true;
        } catch (Exception | Error e) {
            System.out.println("chart: could not draw: " + e);
            return false;
        }
    }

    private static CategoryChart cpuChart(Summary s) {
        List<String> cats = new ArrayList<>();
        List<Scenario> scs = new ArrayList<>();
        for (Scenario sc : s.scenarios) {
            cats.add(sc.id() + ": " + sc.conns() + "c " + Scenario.bytes(sc.size()).replace(" ", "")
                    + (sc.pipeline() > 1 ? " x" + sc.pipeline() : "") + (sc.memory() ? " +10k idle" : ""));
            scs.add(sc);
        }
        CategoryChart chart = new CategoryChartBuilder().width(1200).height(520)
                .title("Server CPU per request relative to Netty epoll (open loop; lower is better)")
                .xAxisTitle("scenario").yAxisTitle("x Netty epoll (log scale)").build();
        style(chart);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setYAxisMin(0.25); // a log axis needs a positive floor for the bars
        chart.getStyler().setYAxisDecimalPattern("0.##x");
        chart.getStyler().setLabelsVisible(true); // each bar carries its ratio: the log axis has few ticks
        chart.getStyler().setLabelsRotation(90);
        boolean any = false;
        for (Contender c : s.contenders) {
            List<Double> ys = new ArrayList<>();
            boolean has = false;
            for (Scenario sc : scs) {
                double r = s.ratio(sc.id(), sc.memory() ? "memory" : "open", c.name(), Measurement::cpuUsPerReq);
                ys.add(r); // NaN (no data) draws no bar
                has |= !Double.isNaN(r);
            }
            if (has) {
                chart.addSeries(c.name(), cats, ys);
                any = true;
            }
        }
        return any ? chart : null;
    }

    private static CategoryChart memoryChart(Summary s) {
        Scenario mem = s.scenarios.stream().filter(Scenario::memory).findFirst().orElse(null);
        if (mem == null) {
            return null;
        }
        List<String> names = new ArrayList<>();
        List<Double> rss = new ArrayList<>();
        List<Double> heap = new ArrayList<>();
        List<String> none = new ArrayList<>();
        for (Contender c : s.contenders) {
            double r = s.median(mem.id(), "memory", c.name(), Measurement::rssKbPerIdle);
            if (Double.isNaN(r)) {
                continue;
            }
            if (r < MEMORY_FLOOR_KB) {
                none.add(c.name()); // nothing to draw on a log axis; named in the title instead
                continue;
            }
            double h = s.median(mem.id(), "memory", c.name(), Measurement::heapKbPerIdle);
            names.add(c.name());
            rss.add(r);
            heap.add(Double.isNaN(h) || h < MEMORY_FLOOR_KB ? Double.NaN : h); // NaN: no bar
        }
        if (names.isEmpty()) {
            return null;
        }
        CategoryChart chart = new CategoryChartBuilder().width(1200).height(480)
                .title("Memory per idle connection, scenario " + mem.id() + ", after a full GC (log scale; lower is better)"
                        + (none.isEmpty() ? "" : "; " + String.join(", ", none) + ": 0 KB, not drawn"))
                .xAxisTitle("contender").yAxisTitle("KB per idle connection (log scale)").build();
        style(chart);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setYAxisMin(MEMORY_FLOOR_KB);
        chart.getStyler().setYAxisDecimalPattern("0.#");
        chart.getStyler().setXAxisLabelRotation(20);
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setLabelsRotation(90);
        chart.addSeries("resident set (RSS)", names, rss);
        chart.addSeries("live heap (JVM only)", names, heap);
        return chart;
    }

    private static void style(CategoryChart chart) {
        Styler st = chart.getStyler();
        st.setLegendPosition(Styler.LegendPosition.OutsideE);
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
    }
}
