package io.netpoll.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldNotContain
import io.netpoll.examples.resp.RespServer.respServer
import io.netpoll.examples.resp.RespStore
import io.netpoll.examples.support.Child
import io.netpoll.examples.support.Ending
import io.netpoll.examples.support.GoodClient
import io.netpoll.examples.support.Tools
import io.netpoll.examples.support.freePort
import io.netpoll.examples.support.rawSocket
import io.netpoll.examples.support.readToEnd
import io.netpoll.examples.support.runTool
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import java.io.ByteArrayOutputStream
import java.io.InputStream
import java.net.InetSocketAddress
import java.net.SocketTimeoutException
import kotlin.time.Duration.Companion.seconds

/**
 * The RESP example server (Kotlin DSL) driven by redis-cli, redis-benchmark and raw JDK sockets, and
 * compared reply for reply with a real redis-server where one is installed.
 */
class RespServerTest : FunSpec({
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val store = RespStore()
    val server = scope.respServer("127.0.0.1:0", store)
    val port = (server.address as InetSocketAddress).port
    afterSpec {
        runBlocking { server.shutdown(2.seconds) }
        scope.cancel()
    }

    fun cli(vararg args: String): String {
        val r = runTool("redis-cli", "-h", "127.0.0.1", "-p", "$port", *args, timeout = 10.seconds)
        r.exit shouldBe 0
        return r.out.trimEnd('\n')
    }

    /** Reads exactly [n] bytes or to EOF (bounded by the socket's read timeout). */
    fun readN(input: InputStream, n: Int): String = String(input.readNBytes(n), Charsets.ISO_8859_1)

    fun goodClient() = GoodClient(port, "PING\r\n".toByteArray()) { input -> readN(input, 7) == "+PONG\r\n" }

    run {
        test("redis-cli: PING, SET/GET, INCR, EXISTS, DEL and ECHO get checked replies").config(enabledOrReasonIf = Tools.need("redis-cli")) {
            cli("PING") shouldBe "PONG"
            cli("SET", "greeting", "hello world") shouldBe "OK"
            cli("GET", "greeting") shouldBe "hello world"
            cli("INCR", "counter") shouldBe "1"
            cli("INCR", "counter") shouldBe "2"
            cli("SET", "counter", "-10") shouldBe "OK"
            cli("INCR", "counter") shouldBe "-9"
            cli("EXISTS", "greeting", "counter", "nosuch", "greeting") shouldBe "3"
            cli("DEL", "greeting", "nosuch") shouldBe "1"
            cli("GET", "greeting") shouldBe ""
            cli("EXISTS", "greeting") shouldBe "0"
            cli("ECHO", "multi\nline \u00e9") shouldBe "multi\nline \u00e9"
            cli("PING", "hi") shouldBe "hi"
        }

        test("redis-cli: error replies keep the connection: INCR on a non-integer, unknown command, wrong arity").config(enabledOrReasonIf = Tools.need("redis-cli")) {
            cli("SET", "text", "abc") shouldBe "OK"
            cli("INCR", "text") shouldBe "ERR value is not an integer or out of range"
            cli("SET", "max", "9223372036854775807") shouldBe "OK"
            cli("INCR", "max") shouldBe "ERR increment or decrement would overflow"
            cli("FOO", "bar") shouldBe "ERR unknown command 'FOO', with args beginning with: 'bar' "
            cli("GET") shouldBe "ERR wrong number of arguments for 'get' command"
            // several commands on one connection (stdin): the errors do not end it
            val c = Child(listOf("redis-cli", "-h", "127.0.0.1", "-p", "$port"))
            c.process.outputStream.use { it.write("INCR text\nFOO\nGET text\nSET a b c\nPING\n".toByteArray()) }
            val r = c.await(10.seconds)
            r.out.lines().filter { it.isNotEmpty() } shouldBe listOf(
                "ERR value is not an integer or out of range",
                "ERR unknown command 'FOO', with args beginning with: ",
                "abc",
                "ERR syntax error",
                "PONG",
            )
        }
    }

    test("redis-benchmark -t ping,set,get -P 16 -n 20000 completes with zero errors").config(enabledOrReasonIf = Tools.need("redis-benchmark")) {
        val r = runTool("redis-benchmark", "-h", "127.0.0.1", "-p", "$port", "-t", "ping,set,get", "-P", "16", "-q", "-n", "20000",
            timeout = 90.seconds)
        r.exit shouldBe 0
        val all = r.out + r.err
        all shouldNotContain "ERR"
        all shouldNotContain "Error"
        all shouldNotContain "WARNING"
        // -q prints progress lines overwritten with \r; the final line of each test has the rate
        val rates = Regex("""(PING_INLINE|PING_MBULK|SET|GET): ([\d.]+) requests per second""").findAll(r.out)
            .associate { it.groupValues[1] to it.groupValues[2].toDouble() }
        rates.keys shouldBe setOf("PING_INLINE", "PING_MBULK", "SET", "GET")
        rates.values.forEach { it shouldBeGreaterThan 0.0 }
        store["key:__rand_int__"]?.size shouldBe 3 // -d 3: three bytes of data
    }

    run {
        val cases = mapOf(
            "non-numeric count" to ("*x\r\n" to "-ERR Protocol error: invalid multibulk length\r\n"),
            "negative count" to ("*-5\r\n" to "-ERR Protocol error: invalid multibulk length\r\n"),
            "non-numeric bulk length" to ("*1\r\n\$abc\r\n" to "-ERR Protocol error: invalid bulk length\r\n"),
            "negative bulk length" to ("*1\r\n$-4\r\n" to "-ERR Protocol error: invalid bulk length\r\n"),
            "huge bulk length" to ("*1\r\n$2147483648\r\n" to "-ERR Protocol error: invalid bulk length\r\n"),
            "bulk shorter than its length" to ("*2\r\n$4\r\nECHO\r\n$5\r\nabc\r\nxy" to "-ERR Protocol error: expected CRLF after bulk data\r\n"),
            "bulk longer than its length" to ("*1\r\n$3\r\nPING\r\n" to "-ERR Protocol error: expected CRLF after bulk data\r\n"),
            "argument without \$" to ("*1\r\n:4\r\n" to "-ERR Protocol error: expected '$', got ':'\r\n"),
            "unbalanced inline quotes" to ("ECHO \"abc\r\n" to "-ERR Protocol error: unbalanced quotes in request\r\n"),
        )
        for ((name, case) in cases) {
            val (input, reply) = case
            test("malformed request ($name) gets -ERR Protocol error and a closed connection; a good client keeps being served") {
                goodClient().use { good ->
                    rawSocket(port).use { s ->
                        // a good command first: its reply comes before the error
                        s.getOutputStream().write(("PING\r\n$input").toByteArray())
                        val (bytes, ending) = readToEnd(s)
                        String(bytes) shouldBe "+PONG\r\n$reply"
                        ending shouldBe Ending.EOF
                    }
                    good.assertProgress()
                }
            }
        }
    }

    test("a 6 MiB value, more than the 4 MiB input cap, is stored and read back whole") {
        val value = ByteArray(6 shl 20) { ('a'.code + it % 26).toByte() }
        rawSocket(port, 10.seconds).use { s ->
            val set = "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${value.size}\r\n".toByteArray() + value + "\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".toByteArray()
            val writer = kotlin.concurrent.thread(isDaemon = true) { s.getOutputStream().write(set) }
            val input = s.getInputStream()
            readN(input, 5) shouldBe "+OK\r\n"
            readN(input, "$${value.size}\r\n".length) shouldBe "$${value.size}\r\n"
            input.readNBytes(value.size).contentEquals(value) shouldBe true
            readN(input, 2) shouldBe "\r\n"
            writer.join(10_000)
        }
        store["big"]!!.size shouldBe value.size
    }

    test("command errors are answered and the connection stays open for the next command") {
        rawSocket(port).use { s ->
            s.getOutputStream().write("SET t x\r\nINCR t\r\nNOPE\r\n*1\r\n$3\r\nGET\r\nPING\r\n".toByteArray())
            val expected = "+OK\r\n-ERR value is not an integer or out of range\r\n" +
                "-ERR unknown command 'NOPE', with args beginning with: \r\n" +
                "-ERR wrong number of arguments for 'get' command\r\n+PONG\r\n"
            readN(s.getInputStream(), expected.length) shouldBe expected
        }
    }

    /**
     * A redis-server on a port found free. Another process can take that port before redis binds it,
     * and redis then exits: a start whose server does not answer PING within 10 s is retried on a new
     * port, three times at most.
     */
    fun startRedisServer(): Pair<Child, Int> {
        repeat(3) {
            val p = freePort()
            val child = Child(listOf("redis-server", "--port", "$p", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--daemonize", "no"))
            val deadline = System.nanoTime() + 10.seconds.inWholeNanoseconds
            while (child.process.isAlive && System.nanoTime() - deadline < 0) {
                val pong = try {
                    rawSocket(p, 1.seconds).use { s ->
                        s.getOutputStream().write("PING\r\n".toByteArray())
                        readN(s.getInputStream(), 7) == "+PONG\r\n"
                    }
                } catch (e: java.io.IOException) {
                    false
                }
                if (pong) return child to p
                Thread.sleep(50)
            }
            child.close()
        }
        throw AssertionError("redis-server did not answer PING on any of 3 free ports")
    }

    test("replies match a real redis-server byte for byte, errors and closes included").config(enabledOrReasonIf = Tools.need("redis-server")) {
        val (redisServer, redisPort) = startRedisServer()
        redisServer.use { redis ->
            // each case on a fresh connection, followed by a sentinel command so we know when the replies end
            val sentinel = "*2\r\n$4\r\nECHO\r\n$8\r\nsentinel\r\n"
            val sentinelReply = "$8\r\nsentinel\r\n"
            fun exchange(p: Int, case: String): String = rawSocket(p, 3.seconds).use { s ->
                s.getOutputStream().write((case + sentinel).toByteArray(Charsets.ISO_8859_1))
                val out = ByteArrayOutputStream()
                val b = ByteArray(4096)
                while (!out.toString(Charsets.ISO_8859_1).endsWith(sentinelReply)) {
                    val n = try {
                        s.getInputStream().read(b)
                    } catch (e: SocketTimeoutException) {
                        throw AssertionError("no reply to '$case' on port $p within 3 s; got '$out'")
                    } catch (e: java.net.SocketException) {
                        -1
                    }
                    if (n < 0) return out.toString(Charsets.ISO_8859_1) + "<closed>"
                    out.write(b, 0, n)
                }
                out.toString(Charsets.ISO_8859_1).removeSuffix(sentinelReply)
            }
            val cases = listOf(
                "PING\r\n", "ping\r\n", "PING hello\r\n", "PING a b\r\n", "ECHO\r\n", "ECHO hi\r\n",
                "*2\r\n$4\r\nECHO\r\n$5\r\nbin\u0000y\r\n", "GET\r\n", "GET nosuch\r\n", "SET a\r\n", "SET a b c\r\n",
                "SET a b\r\nGET a\r\n", "SET a b NX\r\n", "SET zz b XX\r\nGET zz\r\n", "SET a c GET\r\n", "SET a b NX XX\r\n",
                "DEL\r\n", "SET a 1\r\nSET b 2\r\nDEL a a b nosuch\r\n", "EXISTS\r\n", "SET a 1\r\nEXISTS a a nosuch\r\n",
                "INCR\r\n", "INCR fresh1\r\nINCR fresh1\r\n", "SET n -5\r\nINCR n\r\n", "SET n abc\r\nINCR n\r\n",
                "SET n \" 5\"\r\nINCR n\r\n", "SET n 05\r\nINCR n\r\n", "SET n -0\r\nINCR n\r\n", "SET n +5\r\nINCR n\r\n",
                "SET n 9223372036854775807\r\nINCR n\r\n", "SET n -9223372036854775808\r\nINCR n\r\n",
                "FOO\r\n", "FOO bar baz\r\n", "*2\r\n$3\r\nFOO\r\n$3\r\nbar\r\n", "*1\r\n$1\r\n\u0000\r\n",
                "FOO ${"x".repeat(200)} y\r\n", "COMMAND FOO\r\n", "CONFIG GET\r\n", "CONFIG GET nosuch\r\n", "CONFIG\r\n",
                "CONFIG GET appendonly\r\n", "SELECT 0\r\n", "SELECT x\r\n", "SELECT\r\n", "DBSIZE x\r\n",
                "ECHO \"a\\x41b\\n\"\r\n", "ECHO 'it\\'s'\r\n", "\r\n\r\nPING\r\n", "\nPING\n", "*0\r\n*-1\r\nPING\r\n",
                "*x\r\n", "*1a\r\n", "*3000000000\r\n", "*1\r\nPING\r\n", "*1\r\n$-1\r\n", "*1\r\n\$x\r\n", "*1\r\n$4a\r\n",
                "*2\r\n$3\r\nGET\r\n$536870913\r\n", "PING \"unbalanced\r\n", "ECHO \"a\"b\r\n", "ECHO 'it''s'\r\n", "QUIT\r\n",
            )
            for (case in cases) {
                rawSocket(redisPort).use { it.getOutputStream().write("FLUSHALL\r\n".toByteArray()); readN(it.getInputStream(), 5) }
                store.clear()
                val theirs = exchange(redisPort, case)
                val ours = exchange(port, case)
                io.kotest.assertions.withClue(case.replace("\r", "\\r").replace("\n", "\\n")) { ours shouldBe theirs }
            }
            redis.pid // killed by use {}
        }
    }

    test("one map shared by every connection on every poller: 50 redis-benchmark clients INCR one counter 20000 times").config(enabledOrReasonIf = Tools.need("redis-benchmark")) {
        store.clear()
        val r = runTool("redis-benchmark", "-h", "127.0.0.1", "-p", "$port", "-t", "incr", "-c", "50", "-P", "16", "-q", "-n", "20000",
            timeout = 60.seconds)
        r.exit shouldBe 0
        (r.out + r.err) shouldNotContain "ERR"
        store["counter:__rand_int__"]?.let { String(it) } shouldBe "20000"
        cli("GET", "counter:__rand_int__") shouldBe "20000"
    }
})

