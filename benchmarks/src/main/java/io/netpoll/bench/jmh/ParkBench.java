package io.netpoll.bench.jmh;

import io.netpoll.poll.WaitWord;
import io.netpoll.poll.Waiter;
import org.openjdk.jmh.infra.Control;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A park/unpark round trip between two threads through netpoll's Go-style wait words (what a blocked
 * reader and the poller that wakes it do), beside the JDK's {@link SynchronousQueue} hand-off, the
 * usual blocking rendezvous. Each op is one ping and its pong. Both threads park for real when the
 * other is slow, so on 2 cores this mostly measures the kernel's futex wake-up.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ParkBench {
    @State(Scope.Group)
    public static class Words {
        final WaitWord ping = new WaitWord();
        final WaitWord pong = new WaitWord();
        final SynchronousQueue<Object> q1 = new SynchronousQueue<>();
        final SynchronousQueue<Object> q2 = new SynchronousQueue<>();
    }

    /**
     * A parked thread, like netpoll's ThreadWaiter, but it also gives up when JMH ends the
     * measurement (so the partner thread stopping first cannot leave it parked forever).
     */
    static final class BenchWaiter implements Waiter {
        final Thread thread = Thread.currentThread();
        volatile boolean woken;

        @Override
        public void wake() {
            woken = true;
            LockSupport.unpark(thread);
        }
    }

    /** Go's netpollblock for a thread: consume READY or park until an unblock. */
    static void await(WaitWord w, Control control) {
        if (w.prepare()) {
            return;
        }
        BenchWaiter t = new BenchWaiter();
        if (w.commit(t)) {
            while (!t.woken) {
                LockSupport.parkNanos(t, 10_000_000L);
                if (control.stopMeasurement && !t.woken && w.cancel(t)) {
                    return;
                }
            }
        }
        w.finish();
    }

    @Benchmark
    @Group("waitWord")
    @GroupThreads(1)
    public void pinger(Words s, Control control) {
        s.ping.unblockAndWake(true);
        await(s.pong, control);
    }

    @Benchmark
    @Group("waitWord")
    @GroupThreads(1)
    public void ponger(Words s, Control control) {
        await(s.ping, control);
        s.pong.unblockAndWake(true);
    }

    @Benchmark
    @Group("synchronousQueue")
    @GroupThreads(1)
    public void qPinger(Words s, Control control) throws InterruptedException {
        while (!s.q1.offer(s, 10, TimeUnit.MILLISECONDS)) {
            if (control.stopMeasurement) {
                return;
            }
        }
        while (s.q2.poll(10, TimeUnit.MILLISECONDS) == null) {
            if (control.stopMeasurement) {
                return;
            }
        }
    }

    @Benchmark
    @Group("synchronousQueue")
    @GroupThreads(1)
    public void qPonger(Words s, Control control) throws InterruptedException {
        while (s.q1.poll(10, TimeUnit.MILLISECONDS) == null) {
            if (control.stopMeasurement) {
                return;
            }
        }
        while (!s.q2.offer(s, 10, TimeUnit.MILLISECONDS)) {
            if (control.stopMeasurement) {
                return;
            }
        }
    }
}
