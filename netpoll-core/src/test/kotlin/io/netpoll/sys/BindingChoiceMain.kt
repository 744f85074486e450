package io.netpoll.sys

/**
 * For a child JVM started without the `--add-opens` the JDK binding needs: prints the binding
 * `auto` picked (`auto <name>`) and what asking for the JDK binding gives (`jdk <name>`, or
 * `jdk <exception class>: <message>`).
 */
object BindingChoiceMain {
    @JvmStatic
    fun main(args: Array<String>) {
        println("auto " + Sys.libc().name())
        val jdk = try {
            Sys.create("jdk").name()
        } catch (e: RuntimeException) {
            "${e.javaClass.simpleName}: ${e.message}"
        }
        println("jdk $jdk")
    }
}
