package io.netpoll.examples.resp

import io.netpoll.buffer.Reader
import java.io.ByteArrayOutputStream
import java.nio.ByteBuffer

/**
 * Limits of [RespParser]. Real Redis allows 512 MiB bulk strings and INT_MAX arguments; this example
 * keeps a connection's buffered command small.
 *
 * @property maxInline an inline command line (and a `*`/`$` count line) longer than this is a protocol error (64 KiB, as Redis)
 * @property maxArgs a multibulk count above this is `invalid multibulk length`
 * @property maxBulk a bulk length above this is `invalid bulk length`
 * @property maxCommand a multibulk command needing more than this many buffered bytes is refused
 */
public data class RespLimits(
    val maxInline: Int = 64 shl 10,
    val maxArgs: Int = 64 shl 10,
    val maxBulk: Int = 8 shl 20,
    val maxCommand: Int = 16 shl 20,
)

/**
 * A RESP2 request parser over netpoll's [Reader] (a connection's input LinkBuffer): inline commands
 * (`PING\r\n`, split like Redis's `sdssplitargs`, quotes and escapes included) and multibulk commands
 * (`*N\r\n$len\r\nbytes\r\n...`), one after another for pipelining.
 *
 * **Zero copy.** A multibulk command is scanned in place with [Reader.indexOf] and [Reader.peekByte]
 * and consumed only once complete; its arguments are then [Reader.next] views into the buffer (valid
 * until the reader's `release()`). Scanning resumes where it stopped, so a command that arrives in
 * pieces is scanned once. Inline arguments are copied (they must be unescaped anyway).
 *
 * **Results.** [COMMAND]: the command is consumed, its arguments are [args]`[0 until argc]`. [EMPTY]:
 * an empty command (`*0`, `*-1`, a blank inline line) was consumed; parse again. [NEED_MORE]: no complete
 * command yet; nothing was consumed, and at least [need] bytes must be buffered before parsing can
 * progress. [ERROR]: a protocol error ([error], the text after `-ERR `); the connection must be
 * closed after answering. Errors are sticky.
 *
 * **Protocol errors** (Redis's wording): a count that is not an integer, a multibulk count above
 * [RespLimits.maxArgs] or below -1 (`invalid multibulk length`); a bulk length that is not an integer,
 * negative or above [RespLimits.maxBulk] (`invalid bulk length`); an argument not starting with `$`
 * (`expected '$', got 'x'`); a count line not ending in CRLF; unbalanced quotes in an inline command; an
 * inline line, or a count line, longer than [RespLimits.maxInline] (`too big ...`). Two deliberate
 * differences from Redis 7: a bulk string not followed by CRLF (its length was wrong) is an error
 * (`expected CRLF after bulk data`) where Redis skips two bytes unchecked and loses the framing; and
 * `*-2` and below are errors where Redis ignores every count below 1.
 *
 * **Memory.** While it returns [NEED_MORE], the buffered input is below [need], and [need] never
 * exceeds [RespLimits.maxCommand] (multibulk) or [RespLimits.maxInline] + 1 (inline).
 */
public class RespParser(public val limits: RespLimits = RespLimits()) {
    public companion object {
        public const val NEED_MORE: Int = 0
        public const val COMMAND: Int = 1
        public const val EMPTY: Int = 2
        public const val ERROR: Int = 3

        private const val CR: Byte = '\r'.code.toByte()
        private const val LF: Byte = '\n'.code.toByte()
    }

    /** The arguments of the last [COMMAND]: `args[0 until argc]`, views valid until the reader's `release()`. */
    public var args: Array<ByteBuffer?> = arrayOfNulls(8)
        private set
    public var argc: Int = 0
        private set

    /** After [NEED_MORE]: parsing cannot progress before this many bytes are buffered. */
    public var need: Int = 1
        private set

    /** After [ERROR]: the message, e.g. `Protocol error: invalid bulk length`. */
    public var error: String? = null
        private set

    // multibulk scanning state (offsets into the unconsumed input), kept across NEED_MORE
    private var count = -1 // -1: no multibulk header parsed yet
    private var parsed = 0
    private var pos = 0
    private var starts = IntArray(8)
    private var lengths = IntArray(8)
    private var crScanned = 0 // no CR before this offset in the count line being scanned
    // inline scanning state
    private var scanned = 0

    /** Parses the next command from [input]; see the class comment. Never asks for more than `input.len()`. */
    public fun parse(input: Reader): Int {
        if (error != null) return ERROR
        val len = input.len()
        if (len == 0) {
            need = 1
            return NEED_MORE
        }
        return if (count >= 0 || input.peekByte(0) == '*'.code.toByte()) multibulk(input, len) else inline(input, len)
    }

    private fun fail(message: String): Int {
        error = message
        return ERROR
    }

    private fun needMore(n: Int): Int {
        need = n
        return NEED_MORE
    }

    /**
     * Finds the CR LF ending the count line that starts at [from] (its first byte is the type byte).
     * Returns the offset of the CR, -1 when more input is needed ([need] set), -2 on error.
     */
    private fun countLineEnd(input: Reader, from: Int, len: Int, what: String): Int {
        val cr = input.indexOf(CR, maxOf(from, crScanned))
        if (cr < 0 || cr - from > limits.maxInline) {
            if (len - from > limits.maxInline) {
                fail("Protocol error: too big $what count string")
                return -2
            }
            crScanned = len
            need = len + 1
            return -1
        }
        crScanned = 0
        if (cr + 1 >= len) {
            need = cr + 2
            return -1
        }
        if (input.peekByte(cr + 1) != LF) {
            fail("Protocol error: expected CRLF after the $what count")
            return -2
        }
        return cr
    }

    /** Redis's `string2ll` over the input bytes `[from, to)`; null if they are not such a number. */
    private fun parseNumber(input: Reader, from: Int, to: Int): Long? =
        parseLongStrict(to - from) { input.peekByte(from + it) }

    private fun multibulk(input: Reader, len: Int): Int {
        if (count < 0) {
            val cr = countLineEnd(input, 0, len, "mbulk")
            if (cr < 0) return if (cr == -1) NEED_MORE else ERROR
            val n = parseNumber(input, 1, cr)
            if (n == null || n > limits.maxArgs || n < -1) return fail("Protocol error: invalid multibulk length")
            if (n <= 0) {
                input.skip(cr + 2)
                return EMPTY
            }
            count = n.toInt()
            parsed = 0
            pos = cr + 2
            if (starts.size < count) {
                val size = Integer.highestOneBit(count - 1) shl 1
                starts = IntArray(size)
                lengths = IntArray(size)
            }
        }
        while (parsed < count) {
            if (pos >= len) return needMore(pos + 1)
            val type = input.peekByte(pos)
            if (type != '$'.code.toByte()) {
                return fail("Protocol error: expected '$', got '${(type.toInt() and 0xff).toChar()}'")
            }
            val cr = countLineEnd(input, pos, len, "bulk")
            if (cr == -1) return checkNeed()
            if (cr < 0) return ERROR
            val n = parseNumber(input, pos + 1, cr)
            if (n == null || n < 0 || n > limits.maxBulk) return fail("Protocol error: invalid bulk length")
            val start = cr + 2
            val end = start.toLong() + n + 2
            if (end > limits.maxCommand) return fail("Protocol error: command larger than ${limits.maxCommand} bytes")
            if (end > len) return needMore(end.toInt())
            if (input.peekByte(end.toInt() - 2) != CR || input.peekByte(end.toInt() - 1) != LF) {
                return fail("Protocol error: expected CRLF after bulk data")
            }
            starts[parsed] = start
            lengths[parsed] = n.toInt()
            parsed++
            pos = end.toInt()
        }
        // complete: consume, taking zero-copy views of the arguments
        if (args.size < count) args = arrayOfNulls(starts.size)
        var at = 0
        for (i in 0 until count) {
            input.skip(starts[i] - at)
            args[i] = input.next(lengths[i])
            input.skip(2)
            at = starts[i] + lengths[i] + 2
        }
        argc = count
        count = -1
        return COMMAND
    }

    private fun checkNeed(): Int =
        if (need > limits.maxCommand) fail("Protocol error: command larger than ${limits.maxCommand} bytes") else NEED_MORE

    private fun inline(input: Reader, len: Int): Int {
        val nl = input.indexOf(LF, scanned)
        if (nl < 0) {
            scanned = len
            if (len > limits.maxInline) return fail("Protocol error: too big inline request")
            return needMore(len + 1)
        }
        scanned = 0
        if (nl > limits.maxInline) return fail("Protocol error: too big inline request")
        val end = if (nl > 0 && input.peekByte(nl - 1) == CR) nl - 1 else nl
        val line = ByteArray(end)
        if (end > 0) input.peek(end).get(0, line)
        input.skip(nl + 1)
        val words = splitArgs(line) ?: return fail("Protocol error: unbalanced quotes in request")
        if (words.isEmpty()) return EMPTY
        if (args.size < words.size) args = arrayOfNulls(Integer.highestOneBit(words.size) shl 1)
        for (i in words.indices) args[i] = ByteBuffer.wrap(words[i])
        argc = words.size
        return COMMAND
    }
}

/**
 * Redis's `string2ll`: an optional '-' and 1 to 19 digits without leading zeros ("0" itself is fine,
 * "-0", "+1", " 1", "01" are not), within the range of a Long. [at] gives byte `i` of the [n] bytes.
 */
internal inline fun parseLongStrict(n: Int, at: (Int) -> Byte): Long? {
    if (n == 0 || n > 20) return null
    var i = 0
    val negative = at(0) == '-'.code.toByte()
    if (negative) {
        i++
        if (n == 1) return null
    }
    if (at(i) == '0'.code.toByte()) return if (n == 1) 0L else null
    var v = 0L // accumulated negatively, so Long.MIN_VALUE fits
    while (i < n) {
        val d = at(i) - '0'.code.toByte()
        if (d < 0 || d > 9) return null
        if (v < (Long.MIN_VALUE + d) / 10) return null
        v = v * 10 - d
        i++
    }
    return if (negative) v else if (v == Long.MIN_VALUE) null else -v
}

/**
 * Redis's `sdssplitargs`: splits [line] at white space; "double quotes" take `\n \r \t \b \a \\ \"` and
 * `\xHH` escapes, 'single quotes' take `\'`; a closing quote must be followed by white space or the end.
 * Returns null for unbalanced quotes.
 */
internal fun splitArgs(line: ByteArray): List<ByteArray>? {
    val out = ArrayList<ByteArray>(4)
    var p = 0
    val n = line.size
    fun isSpace(b: Byte) = b == ' '.code.toByte() || b == '\n'.code.toByte() || b == '\r'.code.toByte() ||
        b == '\t'.code.toByte() || b == 0x0b.toByte() || b == 0x0c.toByte()
    fun hex(b: Byte): Int = when (b.toInt().toChar()) {
        in '0'..'9' -> b - '0'.code.toByte()
        in 'a'..'f' -> b - 'a'.code.toByte() + 10
        in 'A'..'F' -> b - 'A'.code.toByte() + 10
        else -> -1
    }
    while (true) {
        while (p < n && isSpace(line[p])) p++
        if (p >= n) return out
        val cur = ByteArrayOutputStream()
        var inq = false
        var insq = false
        var done = false
        while (!done) {
            if (inq) {
                if (p >= n) return null
                val c = line[p]
                if (c == '\\'.code.toByte() && p + 3 < n && line[p + 1] == 'x'.code.toByte() &&
                    hex(line[p + 2]) >= 0 && hex(line[p + 3]) >= 0
                ) {
                    cur.write(hex(line[p + 2]) * 16 + hex(line[p + 3]))
                    p += 3
                } else if (c == '\\'.code.toByte() && p + 1 < n) {
                    p++
                    cur.write(
                        when (line[p].toInt().toChar()) {
                            'n' -> '\n'.code
                            'r' -> '\r'.code
                            't' -> '\t'.code
                            'b' -> '\b'.code
                            'a' -> 7
                            else -> line[p].toInt()
                        },
                    )
                } else if (c == '"'.code.toByte()) {
                    if (p + 1 < n && !isSpace(line[p + 1])) return null
                    done = true
                } else {
                    cur.write(c.toInt())
                }
            } else if (insq) {
                if (p >= n) return null
                val c = line[p]
                if (c == '\\'.code.toByte() && p + 1 < n && line[p + 1] == '\''.code.toByte()) {
                    p++
                    cur.write('\''.code)
                } else if (c == '\''.code.toByte()) {
                    if (p + 1 < n && !isSpace(line[p + 1])) return null
                    done = true
                } else {
                    cur.write(c.toInt())
                }
            } else {
                if (p >= n) {
                    done = true
                } else {
                    when (val c = line[p]) {
                        ' '.code.toByte(), '\n'.code.toByte(), '\r'.code.toByte(), '\t'.code.toByte() -> done = true
                        '"'.code.toByte() -> inq = true
                        '\''.code.toByte() -> insq = true
                        else -> cur.write(c.toInt())
                    }
                }
            }
            if (p < n) p++
        }
        out += cur.toByteArray()
    }
}
