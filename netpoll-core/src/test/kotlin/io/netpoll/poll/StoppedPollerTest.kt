package io.netpoll.poll

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.conn.ConnTestKit
import java.io.DataInputStream
import java.io.DataOutputStream

/**
 * A poller of a group that stops while the others run (its loop failed, or someone closed it) must
 * not take new connections: every connection accepted afterwards lands on a running one and works.
 */
class StoppedPollerTest : FunSpec({
    test("connections accepted after one poller stopped go to the running pollers and echo") {
        ConnTestKit.server(ConnTestKit.Exec.INLINE, configure = {
            pollers(2)
            onRequest(ConnTestKit::framedEcho)
        }).use { srv ->
            ConnTestKit.awaitTrue("the loop's pollers") { srv.loop.pollers().size == 2 }
            val stopped = srv.loop.pollers()[0]
            stopped.close()
            stopped.isRunning shouldBe false
            // round robin would put every second connection on the stopped poller
            repeat(6) { i ->
                ConnTestKit.peer(srv.port).use { s ->
                    val out = DataOutputStream(s.getOutputStream())
                    val inp = DataInputStream(s.getInputStream())
                    val msg = ByteArray(100 + i) { (it + i).toByte() }
                    out.writeInt(msg.size)
                    out.write(msg)
                    out.flush()
                    inp.readInt() shouldBe msg.size
                    ConnTestKit.readFully(inp, msg.size).contentEquals(msg) shouldBe true
                }
            }
        }
    }

    test("a group whose pollers all stopped still answers next() with one of them") {
        val group = PollerGroup("stopped-test", 2, LoadBalance.ROUND_ROBIN)
        group.close()
        val p = group.next()
        group.pollers().contains(p) shouldBe true
        p.isRunning shouldBe false
    }
})
