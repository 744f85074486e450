package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.coroutines.CoTestKit.coTest
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.io.DataInputStream
import java.io.DataOutputStream
import java.net.InetSocketAddress
import java.net.Socket
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * Read backpressure and a coroutine that needs more than the input cap: reading pauses at
 * `maxInputBytes`, but a handler waiting for a larger frame tells the connection how much it needs,
 * and reading goes on up to that, on both read-wait paths (the poller slot, and the general wait a
 * per-wait `readTimeout` takes).
 */
class CoInputCapTest : FunSpec({
    timeout = 60_000L

    for ((path, timeout) in listOf<Pair<String, Duration?>>("the poller slot" to null, "the general wait" to 30.seconds)) {
        test("a handler waiting for a frame four times the input cap gets all of it, three times in a row ($path)") {
            coTest {
                val server = netpollServer {
                    listen("tcp", "127.0.0.1:0")
                    pollers = 1
                    maxInputBytes = 256 shl 10
                    readTimeout = timeout
                    handle { conn ->
                        while (conn.awaitReadable(4)) {
                            val n = conn.input.peekInt(0)
                            if (!conn.awaitReadable(4 + n)) break
                            conn.input.skip(4)
                            val frame = conn.input.next(n)
                            var sum = 0L
                            for (k in 0 until n) sum += frame.get(k)
                            conn.release()
                            conn.output.writeLong(sum)
                            conn.flush()
                        }
                    }
                }
                try {
                    val port = (server.address as InetSocketAddress).port
                    withContext(Dispatchers.IO) {
                        Socket("127.0.0.1", port).use { s ->
                            s.soTimeout = CoTestKit.WAIT_MS.toInt()
                            val out = DataOutputStream(s.getOutputStream())
                            val inp = DataInputStream(s.getInputStream())
                            repeat(3) { round ->
                                val payload = CoTestKit.pattern(round * 7L, 1 shl 20)
                                out.writeInt(payload.size)
                                out.write(payload)
                                out.flush()
                                inp.readLong() shouldBe payload.sumOf { it.toLong() }
                            }
                        }
                    }
                } finally {
                    server.shutdown(grace = 2.seconds)
                }
            }
        }
    }
})
