package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.coroutines.CoTestKit.coTest
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asContextElement
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.withContext
import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.InetSocketAddress
import java.net.Socket
import kotlin.coroutines.AbstractCoroutineContextElement
import kotlin.coroutines.CoroutineContext
import kotlin.time.Duration.Companion.seconds

/** A context element of the application's own, as a request-scoped tag would be. */
private class Tag(val value: String) : AbstractCoroutineContextElement(Key) {
    companion object Key : CoroutineContext.Key<Tag>
}

/** What the server's handlers inherit from the scope the server was started in. */
class CoServerContextTest : FunSpec({
    timeout = 60_000L

    /** Starts a server in [context]'s scope whose handler answers each line with what its context holds; returns the answers to "a", "b". */
    suspend fun answersUnder(context: CoroutineContext, mdc: ThreadLocal<String?>): List<String?> = withContext(context) {
        val server = netpollServer {
            listen("tcp", "127.0.0.1:0")
            pollers = 1
            handle { conn ->
                while (true) {
                    val line = conn.readLine() ?: break // suspends until the client's next line
                    val ctx = currentCoroutineContext()
                    conn.output.writeString("${ctx[Tag]?.value} ${mdc.get()} ${ctx[CoroutineName]?.name?.substringBefore('-')} $line\n")
                    conn.flush()
                }
            }
        }
        try {
            withContext(Dispatchers.IO) {
                Socket().use { s ->
                    s.connect(InetSocketAddress("127.0.0.1", (server.address as InetSocketAddress).port), CoTestKit.WAIT_MS.toInt())
                    s.soTimeout = CoTestKit.WAIT_MS.toInt()
                    val inp = BufferedReader(InputStreamReader(s.getInputStream()))
                    listOf("a", "b").map { line ->
                        s.getOutputStream().write("$line\n".toByteArray())
                        inp.readLine()
                    }
                }
            }
        } finally {
            server.shutdown(2.seconds)
        }
    }

    test("handlers inherit the scope's context elements, also a ThreadContextElement that must hold after each suspended read; the server names them itself") {
        val mdc = ThreadLocal<String?>()
        coTest {
            // before: "null null netpoll a" (the handler's context held only the server's elements)
            answersUnder(Tag("t1") + mdc.asContextElement("req-7") + CoroutineName("app"), mdc) shouldBe
                listOf("t1 req-7 netpoll a", "t1 req-7 netpoll b")
            mdc.get() shouldBe null // not leaked onto this thread
        }
    }

    test("a scope without a ThreadContextElement: its own keys are inherited and nothing else changes") {
        val mdc = ThreadLocal<String?>()
        coTest {
            answersUnder(Tag("plain"), mdc) shouldBe listOf("plain null netpoll a", "plain null netpoll b")
        }
    }
})
