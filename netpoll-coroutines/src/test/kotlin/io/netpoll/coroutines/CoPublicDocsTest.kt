package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.ints.shouldBeGreaterThan
import java.io.File

/**
 * Issue 5's rule for the Kotlin API, kept true by the build: every public declaration in this
 * module's sources has a KDoc with an example and a "Cancellation" section. Reads the sources
 * (the tests run in the module's directory): a declaration is a line starting with `public`, and its
 * KDoc is the comment right above it (annotations may sit between).
 */
class CoPublicDocsTest : FunSpec({
    test("every public declaration has KDoc with an example and a Cancellation section") {
        val sources = File("src/main/kotlin").walkTopDown().filter { it.extension == "kt" }.toList()
        sources.size shouldBeGreaterThan 0
        var declarations = 0
        val missing = sources.flatMap { file ->
            val lines = file.readLines()
            lines.indices.filter { lines[it].trimStart().startsWith("public ") }.mapNotNull { i ->
                declarations++
                val doc = kdocAbove(lines, i)
                val what = "${file.name}:${i + 1} ${lines[i].trim().take(60)}"
                when {
                    doc == null -> "$what: no KDoc"
                    "```" !in doc && "Example" !in doc && "example" !in doc -> "$what: no example"
                    "Cancellation" !in doc -> "$what: no Cancellation section"
                    else -> null
                }
            }
        }
        declarations shouldBeGreaterThan 50
        missing.shouldBeEmpty()
    }
})

/** The KDoc ending right above line [at], skipping annotation lines; null if there is none. */
private fun kdocAbove(lines: List<String>, at: Int): String? {
    var end = at - 1
    while (end >= 0 && lines[end].trimStart().startsWith("@")) end--
    if (end < 0 || !lines[end].trimEnd().endsWith("*/")) return null
    var start = end
    while (start >= 0 && "/**" !in lines[start]) start--
    return if (start < 0) null else lines.subList(start, end + 1).joinToString("\n")
}
