package io.netpoll.bench.runner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads back the raw CSV a run wrote ({@link Measurement#csvRow()}), so that the Markdown report and
 * the chart can be drawn again from the measured numbers without measuring again
 * ({@code EchoBench --replay raw/echo-STAMP.csv}).
 */
final class CsvReplay {
    private CsvReplay() {}

    static List<Measurement> read(Path csv) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        if (lines.isEmpty() || !lines.get(0).equals(Measurement.csvHeader())) {
            throw new IOException(csv + ": not a raw echo-benchmark CSV (its header differs from this runner's)");
        }
        List<Measurement> ms = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            List<String> f = fields(line);
            if (f.size() != 27) {
                throw new IOException(csv + ":" + (i + 1) + ": " + f.size() + " fields, expected 27");
            }
            // columns 22 and 23 (per-idle KB) are derived from the base/loaded readings: not read back
            ms.add(new Measurement(f.get(0), f.get(1), Integer.parseInt(f.get(2)), f.get(3), d(f.get(4)), d(f.get(5)),
                    d(f.get(6)), d(f.get(7)), d(f.get(8)), d(f.get(9)), Long.parseLong(f.get(10)), d(f.get(11)),
                    d(f.get(12)), d(f.get(13)), d(f.get(14)), d(f.get(15)), Long.parseLong(f.get(16)),
                    Long.parseLong(f.get(17)), Long.parseLong(f.get(18)), Long.parseLong(f.get(19)),
                    Long.parseLong(f.get(20)), Integer.parseInt(f.get(21)), Boolean.parseBoolean(f.get(24)),
                    Boolean.parseBoolean(f.get(25)), f.get(26).isEmpty() ? null : f.get(26)));
        }
        return ms;
    }

    private static double d(String s) {
        return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
    }

    /** Comma-separated fields; a field in double quotes (only the note) may hold commas. */
    private static List<String> fields(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
