package io.netpoll.examples.resp

import io.netpoll.buffer.Writer
import java.nio.ByteBuffer
import java.util.concurrent.ConcurrentHashMap

/** A binary-safe map key (a copy of the key's bytes). */
public class Key(internal val bytes: ByteArray) {
    private val hash = bytes.contentHashCode()
    override fun hashCode(): Int = hash
    override fun equals(other: Any?): Boolean = other is Key && other.hash == hash && other.bytes.contentEquals(bytes)
    override fun toString(): String = String(bytes, Charsets.ISO_8859_1)
}

/**
 * The in-memory keyspace: string keys to string values, shared by every connection (which run on
 * several pollers at once), so a [ConcurrentHashMap]; INCR is a compare-and-set loop.
 */
public class RespStore {
    internal val map = ConcurrentHashMap<Key, ByteArray>()

    public val size: Int get() = map.size

    public operator fun get(key: String): ByteArray? = map[Key(key.toByteArray())]

    public fun clear(): Unit = map.clear()
}

/**
 * Executes parsed commands against a [RespStore] and writes RESP2 replies, with Redis 7's reply texts:
 * `PING [msg]`, `ECHO msg`, `SET key value [NX|XX] [GET]`, `GET key`, `DEL key...`, `INCR key`,
 * `EXISTS key...`, `COMMAND [COUNT|DOCS|INFO name...]`, `CONFIG GET param...` (`save` and `appendonly`,
 * which redis-benchmark asks for), `SELECT 0`, `DBSIZE`, `FLUSHALL`/`FLUSHDB`, `QUIT`. Unknown
 * commands, wrong arity, bad options and non-integer values are `-ERR` replies and the connection
 * stays open. One instance per connection (it has scratch space).
 */
public class RespCommands(private val store: RespStore) {
    /** What the connection does after a command. */
    public enum class After { CONTINUE, CLOSE }

    private val digits = ByteArray(24) // type, sign, 19 digits, CR LF

    private class Cmd(name: String, val arity: Int, val flags: List<String>, val first: Int, val last: Int, val step: Int) {
        val lower = name.lowercase()
        val upper = name.uppercase().toByteArray()
    }

    private companion object {
        val OK = "+OK\r\n".toByteArray()
        val PONG = "+PONG\r\n".toByteArray()
        val NIL = "$-1\r\n".toByteArray()
        val NIL_ARRAY = "*-1\r\n".toByteArray()
        val EMPTY_ARRAY = "*0\r\n".toByteArray()
        val CRLF = "\r\n".toByteArray()
        const val NOT_INTEGER = "ERR value is not an integer or out of range"
        const val SYNTAX = "ERR syntax error"

        val PING = Cmd("ping", -1, listOf("fast"), 0, 0, 0)
        val ECHO = Cmd("echo", 2, listOf("fast"), 0, 0, 0)
        val SET = Cmd("set", -3, listOf("write", "denyoom"), 1, 1, 1)
        val GET = Cmd("get", 2, listOf("readonly", "fast"), 1, 1, 1)
        val DEL = Cmd("del", -2, listOf("write"), 1, -1, 1)
        val INCR = Cmd("incr", 2, listOf("write", "denyoom", "fast"), 1, 1, 1)
        val EXISTS = Cmd("exists", -2, listOf("readonly", "fast"), 1, -1, 1)
        val COMMAND = Cmd("command", -1, listOf("loading", "stale"), 0, 0, 0)
        val CONFIG = Cmd("config", -2, listOf("admin", "noscript", "loading", "stale"), 0, 0, 0)
        val SELECT = Cmd("select", 2, listOf("loading", "stale", "fast"), 0, 0, 0)
        val DBSIZE = Cmd("dbsize", 1, listOf("readonly", "fast"), 0, 0, 0)
        val FLUSHALL = Cmd("flushall", -1, listOf("write"), 0, 0, 0)
        val FLUSHDB = Cmd("flushdb", -1, listOf("write"), 0, 0, 0)
        val QUIT = Cmd("quit", -1, listOf("fast"), 0, 0, 0)
        val ALL = listOf(PING, ECHO, SET, GET, DEL, INCR, EXISTS, COMMAND, CONFIG, SELECT, DBSIZE, FLUSHALL, FLUSHDB, QUIT)

        /** What CONFIG GET knows (redis-benchmark asks for save and appendonly at start). */
        val CONFIG_VALUES = linkedMapOf("save" to "", "appendonly" to "no", "databases" to "1")
    }

    /** Runs `args[0 until argc]` (views, read before the reader's release) and writes the reply to [out]. */
    public fun execute(args: Array<ByteBuffer?>, argc: Int, out: Writer): After {
        val name = args[0]!!
        val cmd = lookup(name)
        if (cmd == null) {
            unknownCommand(args, argc, out)
            return After.CONTINUE
        }
        if (cmd.arity > 0 && argc != cmd.arity || cmd.arity < 0 && argc < -cmd.arity) {
            error(out, "ERR wrong number of arguments for '${cmd.lower}' command")
            return After.CONTINUE
        }
        when (cmd) {
            PING -> when (argc) {
                1 -> out.writeBinary(PONG)
                2 -> bulk(out, args[1]!!)
                else -> error(out, "ERR wrong number of arguments for 'ping' command")
            }
            ECHO -> bulk(out, args[1]!!)
            GET -> {
                val v = store.map[key(args[1]!!)]
                if (v == null) out.writeBinary(NIL) else bulk(out, v)
            }
            SET -> set(args, argc, out)
            DEL -> {
                var n = 0L
                for (i in 1 until argc) if (store.map.remove(key(args[i]!!)) != null) n++
                integer(out, n)
            }
            EXISTS -> {
                var n = 0L
                for (i in 1 until argc) if (store.map.containsKey(key(args[i]!!))) n++
                integer(out, n)
            }
            INCR -> incr(args[1]!!, out)
            COMMAND -> command(args, argc, out)
            CONFIG -> config(args, argc, out)
            SELECT -> {
                val idx = parseLongStrict(args[1]!!)
                when {
                    idx == null -> error(out, NOT_INTEGER)
                    idx != 0L -> error(out, "ERR DB index is out of range")
                    else -> out.writeBinary(OK)
                }
            }
            DBSIZE -> integer(out, store.map.size.toLong())
            FLUSHALL, FLUSHDB -> {
                store.map.clear()
                out.writeBinary(OK)
            }
            QUIT -> {
                out.writeBinary(OK)
                return After.CLOSE
            }
        }
        return After.CONTINUE
    }

    private fun lookup(name: ByteBuffer): Cmd? {
        for (c in ALL) if (equalsIgnoreCase(name, c.upper)) return c
        return null
    }

    private fun set(args: Array<ByteBuffer?>, argc: Int, out: Writer) {
        var nx = false
        var xx = false
        var get = false
        for (i in 3 until argc) {
            val o = args[i]!!
            when {
                equalsIgnoreCase(o, NX_BYTES) && !xx -> nx = true
                equalsIgnoreCase(o, XX_BYTES) && !nx -> xx = true
                equalsIgnoreCase(o, GET_BYTES) -> get = true
                else -> return error(out, SYNTAX)
            }
        }
        val k = key(args[1]!!)
        val v = copy(args[2]!!)
        var old: ByteArray? = null
        var written = false
        when {
            nx -> {
                old = store.map.putIfAbsent(k, v)
                written = old == null
            }
            xx -> while (true) {
                old = store.map[k]
                if (old == null) {
                    written = false
                    break
                }
                if (store.map.replace(k, old, v)) {
                    written = true
                    break
                }
            }
            else -> {
                old = store.map.put(k, v)
                written = true
            }
        }
        when {
            get -> if (old == null) out.writeBinary(NIL) else bulk(out, old)
            written -> out.writeBinary(OK)
            else -> out.writeBinary(NIL)
        }
    }

    private fun incr(keyView: ByteBuffer, out: Writer) {
        val k = key(keyView)
        while (true) {
            val old = store.map[k]
            val n = if (old == null) 0L else parseLongStrict(ByteBuffer.wrap(old)) ?: return error(out, NOT_INTEGER)
            if (n == Long.MAX_VALUE) return error(out, "ERR increment or decrement would overflow")
            val next = (n + 1).toString().toByteArray()
            val ok = if (old == null) store.map.putIfAbsent(k, next) == null else store.map.replace(k, old, next)
            if (ok) return integer(out, n + 1)
        }
    }

    private fun command(args: Array<ByteBuffer?>, argc: Int, out: Writer) {
        if (argc == 1) {
            arrayHeader(out, ALL.size)
            for (c in ALL) commandInfo(out, c)
            return
        }
        val sub = args[1]!!
        when {
            equalsIgnoreCase(sub, COUNT_BYTES) && argc == 2 -> integer(out, ALL.size.toLong())
            equalsIgnoreCase(sub, DOCS_BYTES) -> out.writeBinary(EMPTY_ARRAY) // clients fall back to their own help
            equalsIgnoreCase(sub, INFO_BYTES) -> {
                arrayHeader(out, argc - 2)
                for (i in 2 until argc) {
                    val c = lookup(args[i]!!)
                    if (c == null) out.writeBinary(NIL_ARRAY) else commandInfo(out, c)
                }
            }
            else -> error(out, "ERR unknown subcommand '${text(sub, 128)}'. Try COMMAND HELP.")
        }
    }

    private fun commandInfo(out: Writer, c: Cmd) {
        arrayHeader(out, 6)
        bulk(out, c.lower.toByteArray())
        integer(out, c.arity.toLong())
        arrayHeader(out, c.flags.size)
        for (f in c.flags) {
            out.writeString("+$f\r\n")
        }
        integer(out, c.first.toLong())
        integer(out, c.last.toLong())
        integer(out, c.step.toLong())
    }

    private fun config(args: Array<ByteBuffer?>, argc: Int, out: Writer) {
        val sub = args[1]!!
        if (!equalsIgnoreCase(sub, GET_BYTES)) {
            return error(out, "ERR unknown subcommand '${text(sub, 128)}'. Try CONFIG HELP.")
        }
        if (argc < 3) return error(out, "ERR wrong number of arguments for 'config|get' command")
        val found = LinkedHashMap<String, String>()
        for (i in 2 until argc) {
            val pattern = String(copy(args[i]!!), Charsets.ISO_8859_1).lowercase()
            for ((k, v) in CONFIG_VALUES) if (pattern == "*" || pattern == k) found[k] = v
        }
        arrayHeader(out, found.size * 2)
        for ((k, v) in found) {
            bulk(out, k.toByteArray())
            bulk(out, v.toByteArray())
        }
    }

    /** Redis 7's text, NUL-terminated arguments and all. */
    private fun unknownCommand(args: Array<ByteBuffer?>, argc: Int, out: Writer) {
        val sb = StringBuilder()
        var i = 1
        while (i < argc && sb.length < 128) {
            val t = text(args[i]!!, 128 - sb.length)
            sb.append('\'').append(t).append("' ")
            i++
        }
        error(out, "ERR unknown command '${text(args[0]!!, 128)}', with args beginning with: $sb")
    }

    // ------------------------------------------------------------------------------ replies

    /** `-message\r\n`, with CR and LF inside turned into spaces as Redis does. */
    private fun error(out: Writer, message: String) {
        val m = message.trimEnd('\r', '\n').replace('\r', ' ').replace('\n', ' ')
        out.writeByte('-'.code.toByte())
        out.writeBinary(m.toByteArray(Charsets.ISO_8859_1))
        out.writeBinary(CRLF)
    }

    private fun bulk(out: Writer, v: ByteBuffer) {
        number(out, '$', v.remaining().toLong())
        out.writeBuffer(v.duplicate())
        out.writeBinary(CRLF)
    }

    private fun bulk(out: Writer, v: ByteArray) {
        number(out, '$', v.size.toLong())
        out.writeBinary(v)
        out.writeBinary(CRLF)
    }

    private fun integer(out: Writer, n: Long) = number(out, ':', n)

    private fun arrayHeader(out: Writer, n: Int) = number(out, '*', n.toLong())

    /** `<type><n>\r\n` without allocating. */
    private fun number(out: Writer, type: Char, n: Long) {
        var i = digits.size
        digits[--i] = '\n'.code.toByte()
        digits[--i] = '\r'.code.toByte()
        if (n == Long.MIN_VALUE) {
            out.writeString("$type$n\r\n")
            return
        }
        var v = if (n < 0) -n else n
        do {
            digits[--i] = ('0'.code + (v % 10).toInt()).toByte()
            v /= 10
        } while (v > 0)
        if (n < 0) digits[--i] = '-'.code.toByte()
        digits[--i] = type.code.toByte()
        out.writeBinary(digits, i, digits.size - i)
    }
}

private val NX_BYTES = "NX".toByteArray()
private val XX_BYTES = "XX".toByteArray()
private val GET_BYTES = "GET".toByteArray()
private val COUNT_BYTES = "COUNT".toByteArray()
private val DOCS_BYTES = "DOCS".toByteArray()
private val INFO_BYTES = "INFO".toByteArray()

/** ASCII case-insensitive comparison of a view with upper-case [upper]. */
internal fun equalsIgnoreCase(b: ByteBuffer, upper: ByteArray): Boolean {
    val n = b.remaining()
    if (n != upper.size) return false
    val p = b.position()
    for (i in 0 until n) {
        var c = b.get(p + i).toInt()
        if (c >= 'a'.code && c <= 'z'.code) c -= 32
        if (c != upper[i].toInt()) return false
    }
    return true
}

internal fun copy(b: ByteBuffer): ByteArray {
    val a = ByteArray(b.remaining())
    b.get(b.position(), a)
    return a
}

internal fun key(b: ByteBuffer): Key = Key(copy(b))

internal fun parseLongStrict(b: ByteBuffer): Long? {
    val p = b.position()
    return parseLongStrict(b.remaining()) { b.get(p + it) }
}

/** Up to [max] characters of [b] as Redis's `%s` prints them: stopping at a NUL byte. */
internal fun text(b: ByteBuffer, max: Int): String {
    val p = b.position()
    var n = 0
    val limit = minOf(b.remaining(), maxOf(0, max))
    while (n < limit && b.get(p + n) != 0.toByte()) n++
    val a = ByteArray(n)
    b.get(p, a)
    return String(a, Charsets.ISO_8859_1)
}
